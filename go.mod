module github.com/ids-sensor/ids

go 1.26.0

require (
	github.com/gopacket/gopacket v1.7.7
	go.yaml.in/yaml/v3 v3.0.4
)

require (
	golang.org/x/net v0.59.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
