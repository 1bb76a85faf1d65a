#!/usr/bin/env bash
# GET /metrics: Prometheus text format that promtool accepts, served only
# with SECRETSD_METRICS_TOKEN and to callers that send it, labelled with
# route templates, never a key name, value or token.
source "$(dirname "$0")/support.bash"
command -v promtool >/dev/null || die "promtool is not installed (scripts/deps.sh --test installs prometheus)"

fleet_db fleet_metrics
METRICS_TOKEN=$(openssl rand -hex 24)
start_secretsd A 55711 "$(direct_url)" SECRETSD_METRICS_TOKEN="$METRICS_TOKEN" SECRETSD_LOGIN_RATE_LIMIT=2,30
start_secretsd B 55712 "$(direct_url)"

out=$(register 55711 metrics@example.com)
token=$(json_field access_token <<<"$out")
CANARY_KEY="CANARY_KEY_$(openssl rand -hex 4 | tr a-f A-F)"
CANARY_VALUE="canary-value-$(openssl rand -hex 8)"
http 55711 POST /api/secrets "{\"key\":\"$CANARY_KEY\",\"value\":\"$CANARY_VALUE\"}" -H "Authorization: Bearer $token" >/dev/null
expect_eq "GET a secret" 200 "$(status_of 55711 GET "/api/secrets/$CANARY_KEY" "" -H "Authorization: Bearer $token")"
status_of 55711 GET /api/secrets/MISSING_KEY "" -H "Authorization: Bearer $token" >/dev/null
status_of 55711 GET /api/secrets "" -H "Authorization: Bearer not-a-token" >/dev/null
for _ in 1 2 3; do login 55711 metrics@example.com wrong >/dev/null; done
status_of 55711 BREW /api/secrets >/dev/null

expect_eq "/metrics without the token" 401 "$(status_of 55711 GET /metrics)"
expect_eq "/metrics with a wrong token" 401 "$(status_of 55711 GET /metrics "" -H "Authorization: Bearer wrong-$METRICS_TOKEN")"
expect_eq "/metrics is not served without SECRETSD_METRICS_TOKEN" 404 "$(status_of 55712 GET /metrics)"
curl -s -o "$WORK/metrics.txt" -D "$WORK/metrics.head" -H "Authorization: Bearer $METRICS_TOKEN" http://127.0.0.1:55711/metrics
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/metrics.head" && pass "text format content type" || fail "content type: $(grep -i content-type "$WORK/metrics.head")"

if promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
  pass "promtool check metrics"
else
  fail "promtool check metrics:"; cat "$WORK/promtool.out"
fi
has() { grep -qF -- "$2" "$WORK/metrics.txt" && pass "$1" || fail "$1: no line with $2"; }
has "requests by route template" 'secretsd_http_requests_total{method="GET",route="/api/secrets/{key}",status="200"} 1'
has "404s under the same template" 'route="/api/secrets/{key}",status="404"} 1'
has "latency histogram" 'secretsd_http_request_duration_seconds_bucket{method="GET",route="/api/secrets/{key}",le="+Inf"} 2'
has "unknown methods are other" 'method="other"'
has "auth failures by kind" 'secretsd_auth_failures_total{kind="invalid"} 1'
has "wrong passwords" 'secretsd_auth_failures_total{kind="bad_login"} 2'
has "rate-limit refusals" 'secretsd_rate_limited_total{limit="login_account"} 1'
has "pool size" 'secretsd_db_pool_size 8'
has "pool timeouts" 'secretsd_db_pool_timeouts_total 0'
has "database available" 'secretsd_database_available 1'
has "primary reads" 'secretsd_secret_reads_total{target="primary"} 2'
for secret in "$CANARY_KEY" "$CANARY_VALUE" "$token" "$METRICS_TOKEN" metrics@example.com MISSING_KEY BREW; do
  if grep -qF -- "$secret" "$WORK/metrics.txt"; then fail "/metrics carries client input: ${secret:0:12}…"; fi
done
pass "no key name, value, token or e-mail in /metrics"
finish
