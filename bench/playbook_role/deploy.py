"""pyinfra's deploy equivalent to site.yml's role: the same 20 steps and the handler, in /root/bench-pyinfra."""

from io import StringIO

from pyinfra import host
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

base = "/root/bench-pyinfra"
values = {"base": base, "workers": 4, "app_port": 8080, "vhosts": ["shop", "blog"], "inventory_hostname": host.name}
files.directory(name="base directory", path=base, mode="755")
files.directory(name="config directory", path=f"{base}/conf", mode="750")
files.directory(name="data directory", path=f"{base}/data", mode="700")
files.directory(name="log directory", path=f"{base}/log", mode="755")
files.put(name="motd", src=StringIO("managed by a playbook\n"), dest=f"{base}/motd", mode="644")
config = files.template(name="app config", src="roles/bench/templates/app.conf.j2", dest=f"{base}/conf/app.conf",
                        mode="640", **values)
env = files.template(name="env file", src="roles/bench/templates/app.env.j2", dest=f"{base}/conf/app.env",
                     mode="600", **values)
files.file(name="settings file", path=f"{base}/conf/settings", present=True, mode="644")
files.line(name="settings port", path=f"{base}/conf/settings", line="^port=.*", replace="port=8080")
files.line(name="settings debug", path=f"{base}/conf/settings", line="^debug=.*", replace="debug=off")
files.line(name="settings workers", path=f"{base}/conf/settings", line="^workers=.*", replace="workers=4")
files.file(name="users file", path=f"{base}/conf/users", present=True, mode="640")
for user in ("alice", "bob", "carol"):
    files.line(name=f"user {user}", path=f"{base}/conf/users", line=user)
for vhost in ("shop", "blog"):
    files.directory(name=f"vhost {vhost}", path=f"{base}/data/{vhost}", mode="750")
server.shell(name="initialise once", commands=[f"test -e {base}/data/initialised || touch {base}/data/initialised"])
server.shell(name="look", commands=[f"ls {base} | wc -l"])
files.put(name="readme", src=StringIO("4 workers\n"), dest=f"{base}/data/README", mode="600")
files.put(name="version file", src=StringIO("1.4.2\n"), dest=f"{base}/VERSION", mode="644")
files.directory(name="run directory", path=f"{base}/run", mode="755")
files.file(name="nothing stray", path=f"{base}/stray", present=False)
server.shell(name="check the layout", commands=[f"test -d {base}/data"])
files.line(name="managed marker", path=f"{base}/conf/settings", line="managed=yes")
server.shell(name="restart app", commands=[f"echo restarted >> {base}/log/handler.log"],
             _if=any_changed(config, env))
