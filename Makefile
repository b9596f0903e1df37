# Conveniences over the README's two scripts (which need nothing but bash and Swift).
.PHONY: demo test bench reference clean
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/deps.sh && swift build -c release --product distill-lab && .build/release/distill-lab bench
# Regenerates the parity fixtures from the independent numpy reference.
reference:
	python3 scripts/reference_gpt2.py --check
	python3 scripts/reference_gpt2.py
clean:
	rm -rf .build checkpoints
