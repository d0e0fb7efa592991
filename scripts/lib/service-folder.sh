# Sourced by the scripts that start servers (services.sh, rabbitmq-cluster.sh, tls-proxies.sh, chaos.sh).
#
# The servers run as their own users (rabbitmq, postgres), who must be able to reach their folders:
# a clone below a folder only root can enter (/root, or a mktemp -d folder) cannot hold them.

# True when every directory on the path can be entered by any user.
path_traversable() {
    local p="$1" perms
    while [[ "$p" != "/" && -n "$p" ]]; do
        perms="$(stat -Lc %A "$p" 2>/dev/null)" || return 1
        [[ "${perms:9:1}" == [xt] ]] || return 1
        p="$(dirname "$p")"
    done
}

# service_folder REPO NAME: REPO/.NAME when the service users can reach it, else a folder of this
# clone's own under /var/tmp.
service_folder() {
    if path_traversable "$1"; then
        printf '%s/.%s' "$1" "$2"
    else
        printf '/var/tmp/workerfleet-%s-%s' "$2" "$(printf '%s' "$1" | cksum | cut -d' ' -f1)"
    fi
}

# Whether /proc/PID/FILE (cmdline or environ: NUL-separated) holds LINE. Only grep's status counts:
# in `tr | grep -q` under pipefail, grep quitting at its match while tr still writes (a file longer
# than tr's 4 KiB output buffer, as a server's environ under CI's environment) fails the pipeline;
# rabbitmq-cluster.sh then took a running node for stopped and left it running.
proc_has_line() { grep -qxF -- "$3" < <(tr '\0' '\n' 2>/dev/null <"/proc/$1/$2"); }

# Right after `( cd DIR; exec setsid SERVER ... ) &`: until the child has run its cd and exec, its
# cwd and command line are the calling script's, so PID_FN (which knows a server by them) fails on a
# server that is only starting; a start that took that for "exited" stopped nothing and left the
# server on its port (a CI chaos run: "port 57093 is in use"). Waits until PID_FN knows the child
# or the child is gone (the caller's readiness wait then reports its log). A child still unknown
# after AWAIT_EXEC_SECONDS (10) could not be stopped later by PID_FN either: it is killed, and the
# start fails with a message, instead of leaving a server that nothing manages on its port.
await_exec() { # PID PID_FN
    local pid="$1" pid_fn="$2" limit="${AWAIT_EXEC_SECONDS:-10}"
    local deadline=$((SECONDS + limit))
    until "$pid_fn" >/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 0
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            local message="$pid_fn did not know the server started as pid $pid within ${limit}s: killed it"
            if declare -F say >/dev/null; then say "$message"; else echo "$message" >&2; fi
            return 1
        fi
        sleep 0.05
    done
}
