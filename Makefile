# Convenience targets; each calls the script the README documents.
.PHONY: build demo test fuzz generate bench clean

build:
	bash scripts/build.sh bin/ids

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# FUZZTIME per target, default 1m.
fuzz:
	bash scripts/fuzz.sh $(or $(FUZZTIME),1m)

generate:
	go generate ./pcaps

bench:
	bash scripts/bench.sh

clean:
	rm -rf bin
