# shellcheck shell=bash
# Recipe for benchhost-test/moto:latest, sourced by tests/images/build.sh (`build.sh moto`).
#
# moto's standalone server (moto from PyPI: its S3 part and the server's flask) answers the
# S3 API on port 4566. It is the second S3 implementation of the tests: the S3 server of the
# tests is real LocalStack (tests/images/localstack); moto proves that the `localstack` plugin
# also works with another S3-compatible image (LOCALSTACK_IMAGE=benchhost-test/moto:latest),
# and a test that uses it says "moto" in its name.
#
# Verified: `GET /_localstack/health` answers 404 (NoSuchBucket: moto takes `_localstack` for a
# bucket), so the plugin checks S3 alone; ListObjectsV2 of a missing bucket answers 404
# NoSuchBucket with no credentials; `PUT /<bucket>` answers 200, also when the bucket exists
# (us-east-1 semantics, like LocalStack). Buckets live in memory only.
# tini is PID 1 so SIGTERM stops moto at once (Python as PID 1 ignores SIGTERM, and `down`
# would wait for the stop grace period).
# Env: MOTO_VERSION pins the PyPI release (default below).
# shellcheck disable=SC2034  # PACKAGES, CHANGES, VERSION_PKG are read by build.sh

MOTO_VERSION=${MOTO_VERSION:-5.2.5}

# python3-pip pulls python3; curl is the Docker healthcheck's client (the plugin's too).
PACKAGES=(python3 python3-pip curl ca-certificates tini)
VERSION_PKG=
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV PYTHONUNBUFFERED=1'
    "LABEL benchhost.moto-version=$MOTO_VERSION"
    'EXPOSE 4566/tcp'
    # In-memory S3 on all interfaces; logs one line per request on stderr.
    'ENTRYPOINT ["/usr/bin/tini","--"]'
    'CMD ["/usr/local/bin/moto_server","-H","0.0.0.0","-p","4566"]'
    # S3 answers: ListObjectsV2 of a bucket nobody makes is NoSuchBucket (the localstack
    # plugin's bucket operation; moto has no /_localstack/health).
    "HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 CMD curl -s 'http://127.0.0.1:4566/benchhost-readiness-probe?list-type=2' | grep -q '<Code>NoSuchBucket</Code>'"
)

post_install_moto() {
    local r=$1
    # moto[server] would pull every service's dependencies (cfn-lint, docker, ...: +150 MB);
    # the S3 server needs only moto[s3] and the server's flask + flask-cors.
    chroot_pip "$r" "moto[s3]==$MOTO_VERSION" flask flask-cors
    [[ -x "$r/usr/local/bin/moto_server" ]] || { echo "moto recipe: /usr/local/bin/moto_server missing after pip install" >&2; return 1; }
}
