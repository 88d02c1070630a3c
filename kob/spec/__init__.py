"""spec: YAML files → frozen dataclasses; every error names file:line and key path.

    yaml_source   the reader every loader uses (Node, Record, load_yaml)
    names         host/group/role name rules
    addresses     host address checks
    state_url     the state: URL (parse_state_url), read by the loader and by open_store
    inventory_model  Inventory, Host, SshSettings, Control, JobTemplate (frozen dataclasses)
    inventory     load_inventory() → Inventory, Host, SshSettings
    service_model Service, LoadBalancer and their parts (frozen dataclasses)
    services      the inventory's services: section (read by load_inventory)
    lb            the inventory's lb: section (read by load_inventory)
    jobs          the inventory's jobs: section, templates of batch jobs
    patterns      select_hosts(inventory, "web:!vm3")
"""
