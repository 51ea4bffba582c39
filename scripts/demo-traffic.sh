#!/usr/bin/env bash
# Real traffic on loopback for the demo: DNS against a local dnsmasq, HTTPS
# (TLS 1.2 and 1.3, with SNI and ALPN) against openssl s_server, HTTP against
# python's http.server, and ping. Only 127.0.0.0/8 and ::1 are used.
set -uo pipefail
STATE=$1
mkdir -p "$STATE/traffic/www"
echo "hello from tapir" >"$STATE/traffic/www/index.html"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; exit 0' INT TERM EXIT

DNS_IP=127.0.0.53
dnsmasq --keep-in-foreground --no-daemon --port 53 --listen-address=$DNS_IP --bind-interfaces \
  --no-resolv --no-hosts --local=/test/ \
  --address=/www.tapir.test/127.0.0.20 --address=/api.tapir.test/127.0.0.21 \
  --host-record=mail.tapir.test,127.0.0.22,::22 --mx-host=tapir.test,mail.tapir.test,10 \
  --txt-record=tapir.test,"v=spf1 -all" --cname=cdn.tapir.test,www.tapir.test \
  --pid-file="$STATE/traffic/dnsmasq.pid" 2>"$STATE/traffic/dnsmasq.log" &
pids+=($!)

# Standard ports on addresses of their own, so nothing collides with the
# collector's ports and the analyzers see the usual ports.
HTTPS_IP=127.0.0.43
HTTP_IP=127.0.0.80
openssl s_server -quiet -accept $HTTPS_IP:443 -cert "$STATE/pki/collector.pem" \
  -key "$STATE/pki/collector.key" -www -alpn h2,http/1.1 >/dev/null 2>&1 &
pids+=($!)
python3 -m http.server 80 --bind $HTTP_IP --directory "$STATE/traffic/www" >/dev/null 2>&1 &
pids+=($!)
sleep 1

names=(www.tapir.test api.tapir.test mail.tapir.test cdn.tapir.test tapir.test nosuch.tapir.test)
i=0
while :; do
  n=${names[$((i % ${#names[@]}))]}
  dig +time=1 +tries=1 @$DNS_IP "$n" A >/dev/null 2>&1
  dig +time=1 +tries=1 @$DNS_IP "$n" AAAA >/dev/null 2>&1
  ((i % 3 == 0)) && dig +time=1 +tries=1 @$DNS_IP tapir.test MX >/dev/null 2>&1
  ((i % 4 == 0)) && dig +time=1 +tries=1 +tcp @$DNS_IP tapir.test TXT >/dev/null 2>&1
  curl -sk --max-time 2 --resolve "www.tapir.test:443:$HTTPS_IP" https://www.tapir.test/ >/dev/null
  curl -sk --max-time 2 --tls-max 1.2 --resolve "api.tapir.test:443:$HTTPS_IP" https://api.tapir.test/ >/dev/null
  curl -s --max-time 2 http://$HTTP_IP/ >/dev/null
  curl -s --max-time 2 -H 'Host: www.tapir.test' http://$HTTP_IP/missing-$i >/dev/null
  ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1
  ((i % 2 == 0)) && ping -6 -c 1 -W 1 ::1 >/dev/null 2>&1
  i=$((i + 1))
  sleep 2
done
