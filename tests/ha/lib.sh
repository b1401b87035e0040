# shellcheck shell=bash
# tests/ha/lib.sh: a replicated PostgreSQL on one machine, for
# tests/ha/failover and tools/ha-demo (sourced by both; defines functions
# only). One etcd and two (or three) PostgreSQL nodes managed by Patroni,
# all on 127.0.0.1 at free ports, everything under one folder DIR:
#
#   DIR/ports          the ports (sourced: ETCD_PORT, ETCD_PEER_PORT,
#                      PG_PORT_<n>, REST_PORT_<n>, HA_NODES)
#   DIR/etcd/          etcd's data, etcd.log, etcd.pid
#   DIR/node<n>/       patroni.yml, patroni.log, patroni.pid, data/ (PGDATA),
#                      log/postgresql.log, the unix socket
#
# Run as root, the processes run as the unprivileged user kolapp-pg (as
# with tools/pg: PostgreSQL refuses to run as root) and DIR is chowned to
# it. Set HA_DETACH=1 before ha_start to start them in a session of their
# own (tools/ha-demo: they outlive the command that started them).
#
# The cluster: synchronous_mode on, synchronous_mode_strict off (with two
# nodes, strict mode would stop all writes after a failover until the dead
# node is back; docs/OPERATIONS.md, "High availability"). A short leader
# TTL (HA_TTL, 10 s; Patroni's default is 30) so that a failover takes
# seconds: the standby is promoted once the dead primary's leader key
# expires in etcd.

HA_USER=${KOLAPP_PG_USER:-kolapp-pg}
HA_TTL=${HA_TTL:-10}
HA_LOOP_WAIT=${HA_LOOP_WAIT:-1}
HA_RETRY_TIMEOUT=${HA_RETRY_TIMEOUT:-4}

_ha_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# tools/pg, sourced, gives _pg_bindir, _pg_port_busy, _pg_ensure_user.
# shellcheck source=../../tools/pg
. "$_ha_srcdir/tools/pg"

_ha_msg() { printf 'ha: %s\n' "$*" >&2; }

# Why this machine cannot run the cluster (nothing when it can).
ha_missing() {
	local m=()
	command -v patroni >/dev/null 2>&1 || m+=("patroni (apt-get install patroni)")
	command -v etcd >/dev/null 2>&1 || m+=("etcd (apt-get install etcd-server)")
	command -v curl >/dev/null 2>&1 || m+=("curl")
	command -v psql >/dev/null 2>&1 || m+=("psql")
	_pg_bindir >/dev/null 2>&1 || m+=("a PostgreSQL server")
	((${#m[@]} == 0)) || printf '%s\n' "${m[*]}"
}

_ha_as_owner() {
	if ((EUID == 0)); then
		runuser -u "$HA_USER" -- "$@"
	else
		"$@"
	fi
}

# _ha_spawn PIDFILE LOG CMD...: CMD in the background as the owner, its
# own pid (not runuser's) in PIDFILE.
_ha_spawn() {
	local pidfile=$1 log=$2
	shift 2
	# shellcheck disable=SC2016  # expanded by that sh
	local -a run=(sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@")
	if ((EUID == 0)); then
		run=(runuser -u "$HA_USER" -- "${run[@]}")
	fi
	rm -f "$pidfile"
	if [[ ${HA_DETACH:-0} == 1 ]]; then
		setsid "${run[@]}" </dev/null >>"$log" 2>&1 &
	else
		"${run[@]}" </dev/null >>"$log" 2>&1 &
	fi
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.05
	done
	_ha_msg "could not start $1"
	return 1
}

_ha_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# A port no one listens on and that this cluster does not use yet, in
# 3000-9999: apart from tools/pg's 10000-19999, the integration harness's
# 20000-31999 and the kernel's ephemeral ports, so that tests running at
# the same time do not pick the same one.
# _ha_port VAR: sets VAR (not in a subshell, so that the next call knows).
_ha_port() {
	local _hp _hi
	_hp=$((3000 + (RANDOM * 32768 + RANDOM) % 7000))
	for ((_hi = 0; _hi < 500; _hi++)); do
		if [[ " ${_ha_taken:-} " != *" $_hp "* ]] && ! _pg_port_busy "$_hp"; then
			_ha_taken="${_ha_taken:-} $_hp"
			printf -v "$1" '%s' "$_hp"
			return 0
		fi
		_hp=$((_hp + 1))
		((_hp > 9999)) && _hp=3000
	done
	_ha_msg "no free TCP port found"
	return 1
}

ha_load_ports() {
	# shellcheck disable=SC1091
	. "$1/ports"
}

# The node names: node1 node2 ...
ha_nodes() {
	local i
	ha_load_ports "$1"
	for ((i = 1; i <= HA_NODES; i++)); do printf 'node%d\n' "$i"; done
}

_ha_port_of() { # DIR NODE KIND(PG|REST)
	local n=${2#node} v
	ha_load_ports "$1"
	v="${3}_PORT_$n"
	printf '%s\n' "${!v}"
}

_ha_write_patroni_yml() {
	local dir=$1 n=$2 bindir=$3 pg rest
	pg=$(_ha_port_of "$dir" "node$n" PG)
	rest=$(_ha_port_of "$dir" "node$n" REST)
	cat >"$dir/node$n/patroni.yml" <<EOF
# Written by tests/ha/lib.sh (see etc/ha/patroni.yml for a commented example).
scope: kolapp-ha
name: node$n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
watchdog:
  mode: 'off'
bootstrap:
  dcs:
    ttl: $HA_TTL
    loop_wait: $HA_LOOP_WAIT
    retry_timeout: $HA_RETRY_TIMEOUT
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 200
        max_wal_senders: 10
        max_replication_slots: 10
        wal_level: replica
        wal_log_hints: 'on'
        hot_standby: 'on'
        synchronous_commit: 'on'
        fsync: 'on'
        shared_buffers: 64MB
        tcp_keepalives_idle: 5
        tcp_keepalives_interval: 2
        tcp_keepalives_count: 3
        tcp_user_timeout: 10000
        client_connection_check_interval: 2s
        wal_retrieve_retry_interval: 1s
  initdb:
    - encoding: UTF8
    - locale: C
    - auth: trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/node$n/data
  bin_dir: $bindir
  pgpass: $dir/node$n/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: '$dir/node$n'
    logging_collector: 'on'
    log_directory: '$dir/node$n/log'
    log_filename: postgresql.log
    log_file_mode: '0644'
    log_timezone: UTC
    log_line_prefix: '%m [%p] '
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
EOF
}

# ha_prepare DIR [NODES]: the folder, the ports and the configuration files
# (once: a folder that has them keeps its ports).
ha_prepare() {
	local dir=$1 nodes=${2:-2} bindir i
	bindir=$(_pg_bindir) || return 1
	mkdir -p "$dir"
	if [[ ! -f $dir/ports ]]; then
		local out p
		_ha_taken=""
		out="HA_NODES=$nodes"$'\n'
		_ha_port p || return 1
		out+="ETCD_PORT=$p"$'\n'
		_ha_port p || return 1
		out+="ETCD_PEER_PORT=$p"$'\n'
		for ((i = 1; i <= nodes; i++)); do
			_ha_port p || return 1
			out+="PG_PORT_$i=$p"$'\n'
			_ha_port p || return 1
			out+="REST_PORT_$i=$p"$'\n'
		done
		printf '%s' "$out" >"$dir/ports"
	fi
	ha_load_ports "$dir"
	mkdir -p "$dir/etcd"
	for ((i = 1; i <= HA_NODES; i++)); do
		mkdir -p "$dir/node$i/log"
		_ha_write_patroni_yml "$dir" "$i" "$bindir"
	done
	if ((EUID == 0)); then
		_pg_ensure_user || return 1
		chown -R "$HA_USER:" "$dir"
	fi
	chmod 0755 "$dir"
	for ((i = 1; i <= HA_NODES; i++)); do chmod 0700 "$dir/node$i"; done
}

ha_start_etcd() {
	local dir=$1
	ha_load_ports "$dir"
	_ha_alive "$dir/etcd/etcd.pid" && return 0
	_ha_spawn "$dir/etcd/etcd.pid" "$dir/etcd/etcd.log" etcd --name etcd1 \
		--data-dir "$dir/etcd/data" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "etcd1=http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster-state new --initial-cluster-token kolapp-ha || return 1
	ha_wait "etcd answering" 30 _ha_etcd_up "$dir"
}

_ha_etcd_up() {
	local h
	h=$(curl -fsS -m 1 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null) && [[ $h == *'"true"'* ]]
}

ha_start_node() {
	local dir=$1 node=$2
	_ha_alive "$dir/$node/patroni.pid" && return 0
	# A node whose patroni was killed may leave its postmaster behind.
	_ha_kill_postmaster "$dir" "$node"
	_ha_spawn "$dir/$node/patroni.pid" "$dir/$node/patroni.log" \
		env HOME="$dir/$node" patroni "$dir/$node/patroni.yml"
}

# ha_wait WHAT SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
ha_wait() {
	local what=$1 secs=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until "$@"; do
		if (($(date +%s%N) > deadline)); then
			_ha_msg "timed out after ${secs} s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

# REST answers of a node: status code of GET /PATH.
_ha_rest_code() { # DIR NODE PATH
	local port
	port=$(_ha_port_of "$1" "$2" REST)
	curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/$3" 2>/dev/null
}

ha_is_primary() { [[ $(_ha_rest_code "$1" "$2" primary) == 200 ]]; }
ha_is_sync_standby() { [[ $(_ha_rest_code "$1" "$2" sync) == 200 ]]; }

# The node that is primary now (nothing, status 1, when none is).
ha_primary() {
	local n
	for n in $(ha_nodes "$1"); do
		if ha_is_primary "$1" "$n"; then
			printf '%s\n' "$n"
			return 0
		fi
	done
	return 1
}

# A primary and a streaming synchronous standby.
ha_healthy() {
	local dir=$1 n p s=""
	p=$(ha_primary "$dir") || return 1
	for n in $(ha_nodes "$dir"); do
		[[ $n == "$p" ]] && continue
		ha_is_sync_standby "$dir" "$n" && s=$n
	done
	[[ -n $s ]] || return 1
	# ... and the primary sees it as synchronous and streaming.
	[[ $(psql "$(ha_node_conninfo "$dir" "$p" postgres)" -XAtqc \
		"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'" \
		2>/dev/null) -ge 1 ]]
}

ha_start() { # DIR [NODES]
	local dir=$1 n
	ha_prepare "$dir" "${2:-2}" || return 1
	ha_start_etcd "$dir" || return 1
	if [[ ! -f $dir/node1/data/PG_VERSION ]]; then
		# A new cluster: node1 bootstraps, the others clone it.
		ha_start_node "$dir" node1 || return 1
		ha_wait "a primary" 90 ha_primary "$dir" >/dev/null || return 1
	fi
	# Otherwise all at once: with synchronous_mode only the last primary
	# or its synchronous standby may lead, whichever node that is.
	for n in $(ha_nodes "$dir"); do
		ha_start_node "$dir" "$n" || return 1
	done
	ha_wait "a primary with a streaming synchronous standby" 120 ha_healthy "$dir"
}

ha_node_conninfo() { # DIR NODE DBNAME
	printf 'host=127.0.0.1 port=%s user=postgres dbname=%s\n' "$(_ha_port_of "$1" "$2" PG)" "${3:-postgres}"
}

# The conninfo a kolappd uses: every node, the writable one wins.
ha_conninfo() { # DIR DBNAME
	local hosts="" ports="" n
	for n in $(ha_nodes "$1"); do
		hosts+="${hosts:+,}127.0.0.1"
		ports+="${ports:+,}$(_ha_port_of "$1" "$n" PG)"
	done
	printf 'host=%s port=%s user=postgres dbname=%s target_session_attrs=read-write connect_timeout=2 keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000\n' \
		"$hosts" "$ports" "${2:-postgres}"
}

_ha_postmaster_pid() { # DIR NODE
	local f=$1/$2/data/postmaster.pid pid
	[[ -f $f ]] || return 1
	pid=$(head -n 1 "$f" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# The pid must be a postgres of this data directory.
	grep -qs "$1/$2/data" "/proc/$pid/cmdline" || return 1
	printf '%s\n' "$pid"
}

# The pids whose parent is PID (from /proc: no procps needed).
_ha_children() {
	local f stat rest state ppid
	for f in /proc/[0-9]*/stat; do
		{ stat=$(<"$f"); } 2>/dev/null || continue
		rest=${stat##*) } # after the command name, which may hold blanks
		read -r state ppid _ <<<"$rest"
		f=${f%/stat}
		[[ $ppid == "$1" ]] && printf '%s ' "${f#/proc/}"
	done
	: "$state"
}

_ha_kill_postmaster() { # DIR NODE: SIGKILL the postmaster and its children
	local pm kids
	pm=$(_ha_postmaster_pid "$1" "$2") || return 0
	kids=$(_ha_children "$pm")
	# shellcheck disable=SC2086
	kill -KILL "$pm" $kids 2>/dev/null || true
}

# ha_kill_node DIR NODE: what a host crash does to it: SIGKILL to its
# Patroni, its postmaster and every backend, at once.
ha_kill_node() {
	local dir=$1 node=$2 pids="" pm
	[[ -s $dir/$node/patroni.pid ]] && pids=$(cat "$dir/$node/patroni.pid")
	if pm=$(_ha_postmaster_pid "$dir" "$node"); then
		pids+=" $pm $(_ha_children "$pm")"
	fi
	# shellcheck disable=SC2086
	[[ -n ${pids// /} ]] && kill -KILL $pids 2>/dev/null
	rm -f "$dir/$node/patroni.pid"
	return 0
}

# ha_stop DIR: Patroni stops its PostgreSQL (fast shutdown), then etcd.
ha_stop() {
	local dir=$1 n pid i
	[[ -f $dir/ports ]] || return 0
	for n in $(ha_nodes "$dir"); do
		_ha_alive "$dir/$n/patroni.pid" && kill -TERM "$(cat "$dir/$n/patroni.pid")" 2>/dev/null
	done
	for n in $(ha_nodes "$dir"); do
		for ((i = 0; i < 300; i++)); do
			_ha_alive "$dir/$n/patroni.pid" || break
			sleep 0.1
		done
		if _ha_alive "$dir/$n/patroni.pid"; then
			_ha_msg "$n: patroni did not stop in 30 s: SIGKILL"
			kill -KILL "$(cat "$dir/$n/patroni.pid")" 2>/dev/null
		fi
		rm -f "$dir/$n/patroni.pid"
		if pid=$(_ha_postmaster_pid "$dir" "$n"); then
			kill -TERM "$pid" 2>/dev/null
			for ((i = 0; i < 100; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			_ha_kill_postmaster "$dir" "$n"
		fi
	done
	if _ha_alive "$dir/etcd/etcd.pid"; then
		pid=$(cat "$dir/etcd/etcd.pid")
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$dir/etcd/etcd.pid"
	return 0
}

# ha_promoted_at DIR NODE T: when NODE's server began to accept writes
# after T (Unix seconds, both): the first "ready to accept connections"
# in its log from then on. Nothing (status 1) before it has.
ha_promoted_at() {
	python3 - "$1/$2/log/postgresql.log" "$3" <<'EOF'
import calendar, sys, time
path, after = sys.argv[1], float(sys.argv[2])
for line in open(path, errors="replace"):
    if "database system is ready to accept connections" not in line:
        continue
    stamp = line[:23]  # 2026-11-30 16:48:20.298
    t = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + float(stamp[19:23])
    if t >= after - 0.5:
        print("%.3f" % t)
        sys.exit(0)
sys.exit(1)
EOF
}

# One line per node: name, role, state, timeline, lag (Patroni's /cluster).
ha_status() {
	local dir=$1 n port json=""
	for n in $(ha_nodes "$dir"); do
		port=$(_ha_port_of "$dir" "$n" REST)
		json=$(curl -fsS -m 2 "http://127.0.0.1:$port/cluster" 2>/dev/null) && break
	done
	if [[ -z $json ]]; then
		echo "no Patroni answers"
		return 1
	fi
	python3 -c '
import json, sys
c = json.loads(sys.argv[1])
for m in c.get("members", []):
    print("%-6s %-13s %-9s timeline %-3s lag %s  127.0.0.1:%s" % (m.get("name"), m.get("role"),
          m.get("state"), m.get("timeline", "-"), m.get("lag", 0), m.get("port")))
' "$json"
}
