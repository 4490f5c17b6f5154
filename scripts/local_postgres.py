"""A local PostgreSQL for the project's Dagster instance: `make postgres` (start), `make postgres-stop`.

    python scripts/local_postgres.py start [--state .postgres] [--fast]
    python scripts/local_postgres.py stop  [--state .postgres]

`start` initialises a cluster in a new temporary folder, starts it on 127.0.0.1 and a free port, creates
the database `dagster` and writes into the state folder (default .postgres/, not committed):
- `env`: DAGSTER_HOME and the DAGSTER_PG_* variables that pipeline/dagster-postgres.yaml reads, one
  KEY=value a line (the Makefile includes it, so every make target then uses PostgreSQL; a shell may
  `set -a; . .postgres/env; set +a`);
- `dagster_home/dagster.yaml`: a copy of pipeline/dagster-postgres.yaml.
The password is made here, at random, for this cluster: no credential is in the repository.

PostgreSQL refuses to run as root. Run as root (CI), the server runs as the user `postgres`, which is
created when missing; where no server binaries are found, the Debian package is installed with apt-get.
`--fast` turns off fsync (tests: the cluster is thrown away after).
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pipeline" / "dagster-postgres.yaml"
SERVER_USER = "postgres"
SUPERUSER = "dagster"
DATABASE = "dagster"


def find_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def ensure_server_binaries() -> Path:
    bin_dir = find_bin_dir()
    if bin_dir is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("no PostgreSQL server found: installing it with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)
        bin_dir = find_bin_dir()
    if bin_dir is None:
        sys.exit("no PostgreSQL server binaries (initdb, pg_ctl): install PostgreSQL (Debian: apt-get install postgresql)")
    return bin_dir


def server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (this user) unless we are root, then `postgres`, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVER_USER], check=True)
        return pwd.getpwnam(SERVER_USER)


def as_server_user(user: pwd.struct_passwd | None, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd="/")
    return subprocess.run(cmd, check=True, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_env(state: Path) -> dict[str, str]:
    path = state / "env"
    if not path.is_file():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def running(env: dict[str, str]) -> bool:
    if not env.get("DAGSTER_PG_PORT"):
        return False
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", int(env["DAGSTER_PG_PORT"]))) == 0


def start(state: Path, fast: bool = False) -> dict[str, str]:
    state = state.resolve()
    existing = read_env(state)
    if running(existing):
        print(f"PostgreSQL already running on 127.0.0.1:{existing['DAGSTER_PG_PORT']} ({state / 'env'})")
        return existing
    bin_dir = ensure_server_binaries()
    user = server_user()
    base = Path(tempfile.mkdtemp(prefix="illicit-income-postgres-"))
    data = base / "data"
    password = secrets.token_urlsafe(24)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    pwfile.chmod(0o600)
    as_server_user(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                          "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"], stdout=subprocess.DEVNULL)
    pwfile.unlink()
    settings = ["listen_addresses = '127.0.0.1'", "unix_socket_directories = ''", "max_connections = 200"]
    if fast:
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    for attempt in range(5):
        port = free_port()
        (data / "postgresql.auto.conf").write_text("\n".join([*settings, f"port = {port}"]) + "\n")
        try:
            as_server_user(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
                                  "-t", "60", "start"], stdout=subprocess.DEVNULL)
            break
        except subprocess.CalledProcessError:
            if attempt == 4:  # the port taken between our look and the server's bind, five times: give up
                print((base / "server.log").read_text(), file=sys.stderr)
                raise
    env = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USERNAME": SUPERUSER,
           "DAGSTER_PG_PASSWORD": password, "DAGSTER_PG_DB": DATABASE}
    create_database(env, DATABASE)
    home = state / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, home / "dagster.yaml")
    env.update({"DAGSTER_HOME": str(home), "LOCAL_POSTGRES_DIR": str(base), "LOCAL_POSTGRES_BIN": str(bin_dir)})
    (state / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (state / "env").chmod(0o600)
    print(f"PostgreSQL {bin_dir.parent.name if bin_dir.parts[-3] == 'postgresql' else ''} running on 127.0.0.1:{port}"
          f" (data in {data}); Dagster instance: {home}; variables: {state / 'env'}")
    return env


def create_database(env: dict[str, str], name: str) -> None:
    """CREATE DATABASE name, as the cluster's superuser (tests make one database per test)."""
    import psycopg2

    deadline = time.monotonic() + 30
    while True:
        try:
            con = psycopg2.connect(host=env["DAGSTER_PG_HOST"], port=int(env["DAGSTER_PG_PORT"]),
                                   user=env["DAGSTER_PG_USERNAME"], password=env["DAGSTER_PG_PASSWORD"], dbname="postgres")
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        con.close()


def stop(state: Path) -> None:
    state = state.resolve()
    env = read_env(state)
    if not env:
        print(f"no local PostgreSQL recorded in {state}")
        return
    base = Path(env["LOCAL_POSTGRES_DIR"])
    if (base / "data" / "postmaster.pid").exists():
        as_server_user(server_user(), [str(Path(env["LOCAL_POSTGRES_BIN"]) / "pg_ctl"), "-D", str(base / "data"),
                                       "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)
    shutil.rmtree(base, ignore_errors=True)
    (state / "env").unlink()
    print(f"PostgreSQL on port {env['DAGSTER_PG_PORT']} stopped and its data removed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--state", type=Path, default=ROOT / ".postgres")
    parser.add_argument("--fast", action="store_true", help="fsync off: for a cluster thrown away after (tests)")
    args = parser.parse_args(argv)
    if args.command == "start":
        start(args.state, args.fast)
    else:
        stop(args.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
