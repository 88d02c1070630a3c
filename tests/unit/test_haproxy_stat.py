"""`show stat` and runtime API replies, parsed (pure); the CSV was captured from HAProxy 2.6.12."""

from __future__ import annotations

import pytest

from kob.facts.containers import ObservationError
from kob.facts.haproxy import (ADDED, ALREADY_THERE, DELETED, NO_SUCH_SERVER, ServerStat, parse_show_stat,
                               runtime_refusals)

# `show stat` of frontends http and slow, backends web (web-1 in maintenance, web-2 refusing connections,
# web-3 added at runtime and draining) and slow (hang holds one open session; x added, never made ready).
SHOW_STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"
    "http,FRONTEND,,,0,2,9983,5,410,945,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,3,,,,0,4,0,0,1,0,,0,3,5,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,3,5,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,5,5,395,978,0,0,\n"
    "slow,FRONTEND,,,1,2,9983,1,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,0,0,1,,,,0,0,0,0,0,0,,0,1,1,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,1,1,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1,79,0,0,0,\n"
    "web,web-1,0,0,0,1,,2,164,364,,0,,0,0,0,0,MAINT,1,1,0,0,1,0,0,,1,4,1,,2,,2,0,,1,,,,0,2,0,0,0,0,,,,2,0,0,,,,,2,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18581,,http,,,,,,,,0,2,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "web,web-2,0,0,0,1,,4,82,217,,0,,1,0,3,0,DOWN,1,1,0,1,1,5,5,,1,4,2,,1,,2,0,,1,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,2,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,2,0,,,,127.0.0.1:18582,,http,,,,,,,,0,4,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "web,web-3,0,0,0,1,,2,164,364,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,4,3,,2,,2,0,,2,L7OK,200,0,0,2,0,0,0,0,,,,2,0,0,,,,,2,,,0,0,0,0,,,,Layer7 check passed,,2,2,3,,,,127.0.0.1:18581,,http,,,,,,,,0,2,0,,,0,0,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "web,BACKEND,0,0,0,1,999,5,410,945,0,0,,1,0,3,0,DOWN,0,0,0,,1,0,0,,1,4,0,,5,,1,0,,3,,,,0,4,0,0,1,0,,,,5,0,0,0,0,0,0,2,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,8,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,17,17,1947,466,0,0,\n"
    "slow,hang,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,6,0,,1,5,1,,1,,2,0,,1,L4OK,,0,0,0,0,0,0,0,,,,0,0,0,,,,,2,,,0,0,0,0,,,,Layer4 check passed,,2,2,3,,,,127.0.0.1:18583,,http,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,1,2,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "slow,x,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,5,,,1,5,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18581,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "slow,BACKEND,0,0,1,1,999,1,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,6,0,,1,5,0,,1,,1,0,,1,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,2,,,0,0,0,0,,,,,,,,,,,,,,http,source,,,,,,,0,1,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1,0,79,0,0,\n"
    "\n"
)


def stat(backend, server, status, current, total, check, address, requests=None, queued=0, weight=1):
    return ServerStat(backend, server, status, current, queued, total, weight, check, address, 0, requests)


def test_server_lines_of_real_output():
    assert parse_show_stat("vm1", SHOW_STAT) == (
        stat("web", "web-1", "MAINT", 0, 2, None, "127.0.0.1:18581", 2),
        stat("web", "web-2", "DOWN", 0, 4, "L4CON", "127.0.0.1:18582", 0),
        stat("web", "web-3", "DRAIN", 0, 2, "L7OK", "127.0.0.1:18581", 2),
        stat("slow", "hang", "UP", 1, 1, "L4OK", "127.0.0.1:18583", 0),
        stat("slow", "x", "MAINT", 0, 0, None, "127.0.0.1:18581", 0),
    )


@pytest.mark.parametrize("rate, req_tot, expected", [
    ("7", "120", (7, 120)),
    ("", "", (0, None)),  # TCP mode: no HTTP requests counted
    ("0", "0", (0, 0)),
])
def test_session_rate_and_requests_of_a_server(rate, req_tot, expected):
    text = f"# pxname,svname,qcur,scur,stot,status,weight,type,rate,req_tot\nweb,web-1,0,3,50,UP,1,2,{rate},{req_tot}\n"
    (server,) = parse_show_stat("vm1", text)
    assert (server.session_rate, server.requests) == expected


def test_only_servers_filter_gives_the_same_servers():
    header, *rows = SHOW_STAT.splitlines()
    servers_only = "\n".join([header] + [row for row in rows if ",FRONTEND," not in row and ",BACKEND," not in row])
    assert parse_show_stat("vm1", servers_only) == parse_show_stat("vm1", SHOW_STAT)


@pytest.mark.parametrize("status, up", [("UP", True), ("UP 1/2", True), ("no check", True), ("DOWN", False),
                                        ("DOWN 1/2", False), ("DRAIN", False), ("MAINT", False)])
def test_up_means_taking_new_sessions(status, up):
    assert stat("web", "web-1", status, 0, 0, None, None).up is up


@pytest.mark.parametrize("text, complaint", [
    ("", "unexpected reply"),
    ("Permission denied\n", "unexpected reply"),
    ("# pxname,svname,status\nweb,web-1,UP\n", "has no column"),
    ("# pxname,svname,qcur,scur,stot,status,weight,type\nweb,web-1,0,many,0,UP,1,2\n", "web/web-1"),
])
def test_unreadable_output_is_an_observation_error_naming_the_host(text, complaint):
    with pytest.raises(ObservationError, match=f"vm1: .*{complaint}"):
        parse_show_stat("vm1", text)


@pytest.mark.parametrize("reply, accepted, refusals", [
    (f"{ADDED}\n\nno need to change the addr, no need to change the port by 'stats socket command'\n\n\n\n",
     (ADDED, ALREADY_THERE), []),
    (f"{ALREADY_THERE}\n\nIP changed from '10.0.0.1' to '10.0.0.2', port changed from '1' to '2' "
     "by 'stats socket command'\n\n\n\n", (ADDED, ALREADY_THERE), []),
    ("No such backend.\n\nNo such backend.\n\n", (ADDED, ALREADY_THERE), ["No such backend.", "No such backend."]),
    ("\nServer deleted.\n\n", (DELETED, NO_SUCH_SERVER), []),
    ("\nServer still has connections attached to it, cannot remove it.\n\n", (DELETED, NO_SUCH_SERVER),
     ["Server still has connections attached to it, cannot remove it."]),
    ("Only servers in maintenance mode can be deleted.\n\n", (DELETED,),
     ["Only servers in maintenance mode can be deleted."]),
    ("Unknown command, but maybe one of the following ones is a better match:\n  add acl ...\n", (),
     ["Unknown command, but maybe one of the following ones is a better match:", "add acl ..."]),
    ("\n\n", (), []),
])
def test_runtime_refusals(reply, accepted, refusals):
    assert runtime_refusals(reply, accepted) == refusals
