# The services the integration tests talk to, brought up when missing: PostgreSQL, RabbitMQ, an
# S3-compatible object store (moto) and headless Chromium with chromedriver (and nasm, a build tool). Sourced by scripts/test;
# every function prints what it found or did, and returns non-zero when it could not.

note() { printf '%s\n' "$*"; }
warn() { printf '\n!!!! WARNING: %s\n\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

apt_install() {
    note "installing $* with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive timeout 900 \
            apt-get install -y -qq --no-install-recommends "$@"
}

# wait_for SECONDS COMMAND...: polls once a second until COMMAND succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 1
    done
}

postgres_up() { timeout 5 pg_isready -h 127.0.0.1 -p 5432 -t 3; }
rabbitmq_up() { timeout 3 bash -c '</dev/tcp/127.0.0.1/5672'; }

ensure_postgres() {
    if command -v pg_isready >/dev/null && postgres_up >/dev/null 2>&1; then
        note "postgresql: up on 127.0.0.1:5432"
        return 0
    fi
    if ! command -v pg_ctlcluster >/dev/null; then
        apt_install postgresql || return 1
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$version" ] || { note "postgresql: no cluster under /etc/postgresql"; return 1; }
    note "postgresql: starting cluster $version/main"
    as_root timeout 60 pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for 30 postgres_up && note "postgresql: up on 127.0.0.1:5432"
}

ensure_rabbitmq() {
    if rabbitmq_up >/dev/null 2>&1; then
        note "rabbitmq: up on 127.0.0.1:5672"
        return 0
    fi
    if ! command -v rabbitmq-server >/dev/null; then
        apt_install rabbitmq-server || return 1
    fi
    # A node whose app was stopped (a broker-restart test cut short) only needs the app started.
    if command -v rabbitmqctl >/dev/null; then
        as_root timeout 60 rabbitmqctl start_app >/dev/null 2>&1 || true
        wait_for 10 rabbitmq_up && { note "rabbitmq: app started on 127.0.0.1:5672"; return 0; }
    fi
    # The package may have started it already; -detached on a running node only complains.
    if ! rabbitmq_up >/dev/null 2>&1; then
        note "rabbitmq: starting"
        as_root timeout 60 rabbitmq-server -detached || true
    fi
    # The Erlang node takes a few seconds before it listens.
    wait_for 90 rabbitmq_up && note "rabbitmq: up on 127.0.0.1:5672"
}

# The multi-node blob store's tests need an S3-compatible server. moto's server (PyPI) is the one
# the registries here offer (MinIO is not packaged in Debian); it keeps objects in memory, which is
# all a test needs.
S3_PORT=9000
s3_up() { curl -sf -o /dev/null "http://127.0.0.1:$S3_PORT/"; }

ensure_s3() {
    if s3_up; then
        note "s3 (moto): up on 127.0.0.1:$S3_PORT"
        return 0
    fi
    if ! command -v moto_server >/dev/null; then
        note "installing moto[server] with pip"
        timeout 600 python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6' || return 1
        hash -r
    fi
    note "s3 (moto): starting on 127.0.0.1:$S3_PORT (log in /tmp/photocheck-moto.log)"
    # Detached from this script's process group, so it outlives the run like the other services.
    setsid nohup moto_server -H 127.0.0.1 -p "$S3_PORT" >/tmp/photocheck-moto.log 2>&1 </dev/null &
    wait_for 60 s3_up && note "s3 (moto): up on 127.0.0.1:$S3_PORT"
}

# The reviewer pages' browser test drives Debian's Chromium through chromedriver; a CJK font makes
# the Chinese pages (and the test's screenshot) readable.
ensure_browser() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
        note "browser: $(/usr/bin/chromium --version 2>/dev/null), $(/usr/bin/chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
        return 0
    fi
    apt_install chromium chromium-driver fonts-wqy-microhei || return 1
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]
}

# Cheap when all are up (three probes). The broker-restart test also needs rabbitmqctl, which comes
# with the server package.
# nasm builds mozjpeg's SIMD decoding (IDCT, upsampling, colour conversion), as deploy/Dockerfile does
# for production; without it mozjpeg-sys quietly builds the plain C paths, and the tests and benches
# measure a slower decoder than production runs. A library built before nasm was here is rebuilt
# (cargo cannot tell that the build script would now do more).
ensure_nasm() {
    if command -v nasm >/dev/null; then
        note "nasm: $(nasm -v)"
        return 0
    fi
    apt_install nasm || { warn "nasm could not be installed: JPEG decoding is built without SIMD"; return 0; }
    cargo clean --quiet -p mozjpeg-sys || true
}

ensure_services() {
    ensure_nasm
    ensure_postgres || { warn "PostgreSQL is not reachable on 127.0.0.1:5432"; return 1; }
    ensure_rabbitmq || { warn "RabbitMQ is not reachable on 127.0.0.1:5672"; return 1; }
    command -v rabbitmqctl >/dev/null || { warn "rabbitmqctl is missing"; return 1; }
    ensure_s3 || { warn "no S3-compatible server on 127.0.0.1:$S3_PORT"; return 1; }
    ensure_browser || { warn "Chromium and chromedriver could not be installed"; return 1; }
}
