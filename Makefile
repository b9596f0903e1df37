# DistillLab — the two commands of the README, plus a few helpers.
#   make demo   train a small teacher on a built-in corpus and sample from it (release build)
#   make test   run the test suite
# Both install Debian's OpenBLAS and LAPACKE development packages first when they are missing.

SWIFT ?= swift
PACKAGES := libopenblas-dev liblapacke-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo)

.PHONY: deps demo test build release bench reference clean

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

release: deps
	$(SWIFT) build -c release --product distill-lab

demo: release
	.build/release/distill-lab train --corpus grammar --out checkpoints/grammar-teacher --steps 300 --eval-interval 100
	.build/release/distill-lab sample --checkpoint checkpoints/grammar-teacher --prompt "the" --tokens 40 --count 3 --temperature 0.8

test: deps
	$(SWIFT) test

bench: release
	.build/release/distill-lab bench

# Regenerates the parity fixtures from the independent numpy reference.
reference:
	python3 scripts/reference_gpt2.py --check
	python3 scripts/reference_gpt2.py

clean:
	rm -rf .build checkpoints
