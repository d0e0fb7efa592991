# Sourced by the scripts that start servers (services.sh, rabbitmq-cluster.sh, chaos.sh).
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
