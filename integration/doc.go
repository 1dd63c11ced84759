// Package integration holds the end-to-end tests that use the real thing: the ids binary
// capturing on a veth pair between network namespaces while tcpreplay sends the attack corpus,
// and a real Prometheus server scraping the sensor while every query of the Grafana dashboard
// is evaluated. They need root (CAP_NET_ADMIN) and Debian's iproute2, tcpreplay and prometheus
// (scripts/deps.sh --test installs them); without root they skip, except under CI=true where
// they fail, since CI must not silently lose them.
package integration
