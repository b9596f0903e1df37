# Conveniences over the README's two scripts (which need nothing but bash and Swift).
.PHONY: demo test bench reference reproduce clean
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/deps.sh && swift build -c release --product distill-lab && .build/release/distill-lab bench
# Regenerates every committed result into a scratch directory and compares it with results/ (about two hours of
# cells on two cores; EXPERIMENTS="quickstart defence-sweep" for a subset). See scripts/reproduce.sh.
reproduce:
	bash scripts/reproduce.sh
# Regenerates the parity fixtures from the independent numpy reference.
reference:
	python3 scripts/reference_gpt2.py --check
	python3 scripts/reference_gpt2.py
clean:
	rm -rf .build checkpoints
