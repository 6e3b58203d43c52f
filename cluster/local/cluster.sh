#!/usr/bin/env bash
# A simulated cluster on one machine: N hosts as network namespaces on a private bridge.
#
#   cluster/local/cluster.sh up     --name NAME --hosts N [--subnet CIDR|auto] [--slots S] [--rate R] [--delay D]
#   cluster/local/cluster.sh mpirun --name NAME [mpirun options] program args...
#   cluster/local/cluster.sh down   --name NAME
#   cluster/local/cluster.sh run    --name NAME --hosts N [up options] -- [mpirun options] program args...
#   cluster/local/cluster.sh pids   --name NAME      (processes still running on the hosts)
#   cluster/local/cluster.sh check                   (can this machine make namespaces? exit 0 if so)
#
# Host i of cluster NAME is the network namespace NAME-nI (its host name too), with eth0 at
# address .I of a /24 (default 10.213.0.0/24; `auto` takes the first free 10.213.X.0/24). Each
# eth0 is one end of a veth pair whose other end (NAME-vI) sits on the bridge NAME-br, and the
# root namespace has address .254 on the bridge, so mpirun (which stays in the root namespace)
# reaches its daemons over the bridge. The bridge has no uplink and the namespaces no default
# route: no packet can leave the machine. Names resolve from files only: /etc/netns/HOST/ holds
# hosts, resolv.conf (no name server) and nsswitch.conf (hosts: files), which `ip netns exec`
# mounts over /etc; mpirun gets the same files in a mount namespace of its own.
#
# --rate R (e.g. 1gbit) shapes every host link in both directions with tbf. --delay D (e.g.
# 200us, 2ms) makes D the one-way latency between any two hosts: the bridge is then
# convoy-link-switch (link_switch.cpp, built with Convoy), a learning switch in userspace between
# tap devices (eth0 in each host, NAME-br in the root namespace), which holds each frame D and,
# with --rate, sends no faster than R into each host; each host's tbf still shapes what it sends.
# It needs no netem, which many kernels lack. The switch binary is $CONVOY_LINK_SWITCH, else
# build/release/cluster/local/convoy-link-switch or build/ci/..., else convoy-link-switch on PATH.
#
# `run` tears the cluster down on any exit (also when killed by SIGTERM/SIGINT; SIGUSR1 is
# passed on to mpirun, as Slurm's preemption signal). `up` first removes whatever a killed
# run left under the same name; `down` is idempotent. Needs root (ip, tc, mount).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(cd "$here/../.." && pwd)
state_root=/run/convoy-cluster
agent=$here/rsh-agent.sh

die() { echo "cluster.sh: $*" >&2; exit 2; }

# Teardown on every exit of `run`, and of an `up` that failed or was interrupted half-way.
teardown_on_exit=0
pid=""  # run: mpirun's
on_exit() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ "$teardown_on_exit" = 1 ]; then cmd_down; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# --- options --------------------------------------------------------------------------------
name="" hosts="" subnet=10.213.0.0/24 slots=1 rate="" delay=""
parse_options() {
  while [ $# -gt 0 ]; do
    case $1 in
      --name) name=${2:?--name needs a value}; shift 2 ;;
      --hosts) hosts=${2:?--hosts needs a value}; shift 2 ;;
      --subnet) subnet=${2:?--subnet needs a value}; shift 2 ;;
      --slots) slots=${2:?--slots needs a value}; shift 2 ;;
      --rate) rate=${2:?--rate needs a value}; shift 2 ;;
      --delay) delay=${2:?--delay needs a value}; shift 2 ;;
      --) shift; rest=("$@"); return ;;
      *) rest=("$@"); return ;;
    esac
  done
  rest=()
}

check_name() {
  [[ $name =~ ^[a-z][a-z0-9]{0,9}$ ]] ||
    die "--name '$name': expected 1-10 lower-case letters and digits, starting with a letter (it prefixes interface names of at most 15 characters)"
}

# 10.213.0.0/24 -> prefix "10.213.0"; only /24 networks (hosts .1-.253, the root .254).
subnet_prefix() {
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] ||
    die "--subnet '$1': expected a /24 network such as 10.213.0.0/24, or auto"
  echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
}

# Any route into the subnet means it is in use here (a real network, or another cluster).
subnet_in_use() { [ -n "$(ip -4 route show to match "$(subnet_prefix "$1").1" | grep -v '^default')" ]; }

host_name() { echo "$name-n$1"; }
state_dir() { echo "$state_root/$name"; }

# --- up -------------------------------------------------------------------------------------
write_etc() {  # dir prefix: hosts, resolv.conf, nsswitch.conf for one host (or mpirun)
  local dir=$1 prefix=$2 i
  mkdir -p "$dir"
  {
    echo "127.0.0.1 localhost"
    echo "$prefix.254 $name-root"
    for ((i = 1; i <= hosts; i++)); do echo "$prefix.$i $(host_name "$i")"; done
  } >"$dir/hosts"
  echo "# simulated cluster $name: no name server, names come from /etc/hosts" >"$dir/resolv.conf"
  # This machine's, with host names from files only.
  sed -E 's/^(hosts|networks):.*/\1: files/' /etc/nsswitch.conf >"$dir/nsswitch.conf"
  grep -q '^hosts:' "$dir/nsswitch.conf" || echo "hosts: files" >>"$dir/nsswitch.conf"
}

shape() {  # dev [netns]: the rate on one link end's egress
  local dev=$1 ns=${2:-} burst
  local -a tc=(tc)
  [ -n "$ns" ] && tc=(ip netns exec "$ns" tc)
  if [ -n "$rate" ]; then
    # Burst: 1 ms at the rate, at least 64 KiB (one GSO packet), so tbf never drops a packet for size.
    burst=$(($(rate_bits "$rate") / 8000))
    [ "$burst" -lt 65536 ] && burst=65536
    "${tc[@]}" qdisc add dev "$dev" root tbf rate "$rate" burst "$burst" latency 50ms
  fi
}

rate_bits() {  # 10gbit, 200mbit, 64kbit -> bits per second
  [[ $1 =~ ^([0-9]+)(g|m|k|)bit$ ]] || die "--rate '$1': expected a number with gbit, mbit, kbit or bit (e.g. 1gbit)"
  case ${BASH_REMATCH[2]} in
    g) echo $((BASH_REMATCH[1] * 1000000000)) ;;
    m) echo $((BASH_REMATCH[1] * 1000000)) ;;
    k) echo $((BASH_REMATCH[1] * 1000)) ;;
    *) echo "${BASH_REMATCH[1]}" ;;
  esac
}

delay_ns() {  # 50us, 2ms, 1s, 800ns -> nanoseconds
  [[ $1 =~ ^([0-9]+)(ns|us|ms|s)$ ]] || die "--delay '$1': expected a number with ns, us, ms or s (e.g. 200us)"
  case ${BASH_REMATCH[2]} in
    ns) echo "${BASH_REMATCH[1]}" ;;
    us) echo $((BASH_REMATCH[1] * 1000)) ;;
    ms) echo $((BASH_REMATCH[1] * 1000000)) ;;
    s) echo $((BASH_REMATCH[1] * 1000000000)) ;;
  esac
}

switch_binary() {
  local candidate
  for candidate in "${CONVOY_LINK_SWITCH:-}" "$root_dir/build/release/cluster/local/convoy-link-switch" \
    "$root_dir/build/ci/cluster/local/convoy-link-switch" "$(command -v convoy-link-switch || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  die "--delay needs convoy-link-switch: build Convoy (cmake --build --preset release) or set CONVOY_LINK_SWITCH"
}

# --delay: the switch attaches to every tap, then says so by creating its ready file.
start_switch() {
  local dir ports=("$name-br") i
  dir=$(state_dir)
  for ((i = 1; i <= hosts; i++)); do ports+=("$(host_name "$i")/eth0"); done
  setsid "$(switch_binary)" --delay "$(delay_ns "$delay")" ${rate:+--rate "$(rate_bits "$rate")"} \
    --ready "$dir/switch.ready" "${ports[@]}" </dev/null >"$dir/switch.log" 2>&1 &
  echo $! >"$dir/switch.pid"
  for ((i = 0; i < 100; i++)); do
    [ -f "$dir/switch.ready" ] && return
    kill -0 "$(cat "$dir/switch.pid")" 2>/dev/null || die "convoy-link-switch failed: $(cat "$dir/switch.log")"
    sleep 0.05
  done
  die "convoy-link-switch did not attach to its ports within 5 s: $(cat "$dir/switch.log")"
}

no_ipv6() { echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6" 2>/dev/null || true; }

add_host() {  # i prefix
  local i=$1 prefix=$2 host veth
  host=$(host_name "$i")
  veth=$name-v$i
  ip netns add "$host"
  write_etc "/etc/netns/$host" "$prefix"
  if [ -n "$delay" ]; then
    ip -n "$host" tuntap add dev eth0 mode tap vnet_hdr  # the switch's port
  else
    ip link add "$veth" type veth peer name eth0 netns "$host"
    no_ipv6 "$veth"
    ip link set "$veth" master "$name-br" up
    shape "$veth"
  fi
  ip netns exec "$host" sh -c "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6" 2>/dev/null || true
  ip -n "$host" addr add "$prefix.$i/24" dev eth0
  ip -n "$host" link set lo up
  ip -n "$host" link set eth0 up
  # A peer that vanished is noticed after about 6 s of unanswered retransmissions, not 15 min.
  ip netns exec "$host" sysctl -q -w net.ipv4.tcp_retries2=5
  shape eth0 "$host"
  echo "$host slots=$slots" >>"$(state_dir)/hostfile"
}

pick_subnet() {  # the first 10.213.X.0/24 no route leads into
  local x
  for ((x = 0; x < 254; x++)); do
    if ! subnet_in_use "10.213.$x.0/24"; then echo "10.213.$x.0/24"; return; fi
  done
  die "--subnet auto: every 10.213.X.0/24 is in use"
}

cmd_up() {
  check_name
  [[ $hosts =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 99 ] || die "--hosts '$hosts': expected 1 to 99"
  [[ $slots =~ ^[0-9]+$ ]] && [ "$slots" -ge 1 ] || die "--slots '$slots': expected a number >= 1"
  [ -z "$rate" ] || rate_bits "$rate" >/dev/null
  [ -z "$delay" ] || { delay_ns "$delay" >/dev/null; switch_binary >/dev/null; }
  [ "$(id -u)" -eq 0 ] || die "up: needs root (ip netns, ip link, tc)"
  teardown_on_exit=1
  cmd_down
  mkdir -p "$state_root"
  # One `up` at a time picks a subnet and claims it with the bridge address.
  exec 9>"$state_root/.lock"
  flock 9
  [ "$subnet" = auto ] && subnet=$(pick_subnet)
  local prefix i
  prefix=$(subnet_prefix "$subnet")
  subnet_in_use "$subnet" && die "--subnet $subnet: already routed on this machine ($(ip -4 route show to match "$prefix.1" | head -1)); choose another"
  mkdir -p "$(state_dir)"
  : >"$(state_dir)/hostfile"
  echo "$subnet" >"$(state_dir)/subnet"
  write_etc "$(state_dir)/etc" "$prefix"
  if [ -n "$delay" ]; then
    ip tuntap add dev "$name-br" mode tap vnet_hdr  # the root namespace's port on the switch
  else
    ip link add "$name-br" type bridge
  fi
  no_ipv6 "$name-br"
  ip addr add "$prefix.254/24" dev "$name-br"
  ip link set "$name-br" up
  exec 9>&-
  for ((i = 1; i <= hosts; i++)); do add_host "$i" "$prefix"; done
  [ -z "$delay" ] || start_switch
  [ "$command" = run ] || teardown_on_exit=0
  echo "cluster $name: $hosts host(s) $(host_name 1)..$(host_name "$hosts") on $subnet${rate:+, rate $rate}${delay:+, one-way delay $delay}"
}

# --- down -----------------------------------------------------------------------------------
namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$name-n[0-9]+\$" || true; }

cmd_pids() {
  check_name
  local ns
  for ns in $(namespaces); do ip netns pids "$ns" 2>/dev/null || true; done
}

cmd_down() {
  check_name
  local ns pids try link
  # The switch first: without it no frame moves, and its taps can go.
  if [ -f "$(state_dir)/switch.pid" ]; then kill -9 "$(cat "$(state_dir)/switch.pid")" 2>/dev/null || true; fi
  for ns in $(namespaces); do
    # Processes keep a deleted namespace alive: kill them first (ranks blocked in MPI spin).
    for ((try = 0; try < 50; try++)); do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -z "$pids" ] && break
      kill -9 $pids 2>/dev/null || true
      sleep 0.1
    done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$name-(v[0-9]+|br)\$" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  rm -rf "$(state_dir)"
}

# --- mpirun ---------------------------------------------------------------------------------
cmd_mpirun() {
  check_name
  local dir subnet_now
  dir=$(state_dir)
  [ -f "$dir/hostfile" ] || die "mpirun: no cluster '$name' (expected $dir/hostfile; run 'up' first)"
  subnet_now=$(cat "$dir/subnet")
  # The simulated hosts share this machine's cores: binding per host would put every host's
  # first rank on core 0. --bind-to none comes first, so a --bind-to given here overrides it.
  # mpirun stays in the root network namespace but resolves names from the cluster's files.
  exec unshare --mount --propagation private -- sh -c '
    etc=$1; shift
    for f in hosts resolv.conf nsswitch.conf; do mount --bind "$etc/$f" "/etc/$f" || exit 2; done
    exec "$@"' sh "$dir/etc" \
    mpirun --hostfile "$dir/hostfile" --allow-run-as-root --oversubscribe \
    --mca plm_rsh_agent "$agent" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$subnet_now" --mca oob_tcp_if_include "$subnet_now" \
    --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3 \
    --bind-to none "${rest[@]}"
}

# --- run: up, mpirun, down ------------------------------------------------------------------
cmd_run() {
  check_name
  cmd_up
  "$0" mpirun --name "$name" "${rest[@]}" &
  pid=$!
  # Signals go on to mpirun, which passes them to the ranks; a second SIGINT/SIGTERM kills it.
  trap 'kill -USR1 "$pid" 2>/dev/null || true' USR1
  trap 'forward TERM' TERM
  trap 'forward INT' INT
  local code=0
  # `wait` returns early when a trap runs; wait again until mpirun has really finished.
  while kill -0 "$pid" 2>/dev/null; do
    code=0
    wait "$pid" || code=$?
  done
  exit "$code"
}

forwarded=0
forward() {
  if [ "$forwarded" = 1 ]; then kill -KILL "$pid" 2>/dev/null || true; else kill -"$1" "$pid" 2>/dev/null || true; fi
  forwarded=1
}

cmd_check() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root to create network namespaces"; exit 1; }
  local probe=convoy-probe-$$ out
  if ! out=$(ip netns add "$probe" 2>&1); then echo "ip netns add failed: $out"; exit 1; fi
  if ! out=$(ip -n "$probe" link add probebr type bridge 2>&1 && ip link add "cvp$$" type veth peer name eth0 netns "$probe" 2>&1); then
    ip netns del "$probe"
    echo "veth/bridge creation failed: $out"
    exit 1
  fi
  ip link del "cvp$$" 2>/dev/null || true
  ip netns del "$probe"
  echo "network namespaces, veth and bridges work"
}

[ $# -ge 1 ] || usage
command=$1
shift
rest=()
parse_options "$@"
case $command in
  up) cmd_up ;;
  down) cmd_down ;;
  mpirun) cmd_mpirun ;;
  run) cmd_run ;;
  pids) cmd_pids ;;
  check) cmd_check ;;
  *) usage ;;
esac
