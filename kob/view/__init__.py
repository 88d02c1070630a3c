"""The status page's view of the cluster: what the page and its API show.

watch keeps a live look (observe, sample, HAProxy stats) refreshed in the background;
overview joins it with what the store keeps into plain JSON-ready rows. Nothing here
changes a host or the store's desired state.
"""
