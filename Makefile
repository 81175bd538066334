# Tandem: the two commands are `make demo` and `make test`; each installs what it needs and builds.
BUILD     ?= build
JOBS      ?= $(shell nproc)
PYTHON    ?= /usr/bin/python3
APT_PKGS  := cmake g++ make libopenblas-openmp-dev libdnnl-dev libgtest-dev nlohmann-json3-dev libtomlplusplus-dev python3-torch python3-numpy chromium \
             clang libomp-dev wordnet-base libopenmpi-dev openmpi-bin

FUZZ_BUILD ?= build-fuzz
SAN_BUILD  ?= build-sanitize
FUZZ_SECONDS ?= 60

.PHONY: deps build test demo bench clean fuzz fuzz-build test-sanitize

# Install the Debian packages that are missing (no-op when all are present).
deps:
	@missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	command -v npm > /dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# PyTorch writes the reference tensors once per script change; ctest runs everything.
test: build
	@$(PYTHON) tests/reference/make_reference.py --out $(BUILD)/reference
	@tests/hf/make_reference.sh $(BUILD)/reference
	@cd $(BUILD) && OMP_NUM_THREADS=$(JOBS) ctest --output-on-failure -j 1
	@echo "fuzzing each reader briefly (make fuzz runs longer):"
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# libFuzzer targets (fuzz/) built with clang, ASan and UBSan; each runs FUZZ_SECONDS from the seed corpus.
fuzz-build: deps
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_FUZZ=ON > /dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	@tests/hf/make_reference.sh $(BUILD)/reference > /dev/null  # the real tokenizer.json the encoders read
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The whole test suite built with AddressSanitizer (leak checks on) and UndefinedBehaviorSanitizer (halting on the
# first report): about 3.5 minutes of tests here, so it fits CI beside make test.
test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_SANITIZE=ON > /dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@$(PYTHON) tests/reference/make_reference.py --out $(SAN_BUILD)/reference
	@tests/hf/make_reference.sh $(SAN_BUILD)/reference
	@cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  OMP_NUM_THREADS=$(JOBS) ctest --output-on-failure -j 1

# The forgetting testbeds: pretrained bases (cached in runs/cache), every method x lambda x 3 seeds, judges,
# runs/demo/report.html (toy) then runs/demo-words/report.html (WordNet words). `make demo ARCH=gpt_neox` runs the
# toy testbed only, on a Pythia-shaped model (runs/demo-gpt_neox).
demo: build
	@$(BUILD)/tandem demo --out runs/demo$(if $(ARCH),-$(ARCH)) --cache runs/cache $(if $(ARCH),--arch $(ARCH))
	@$(if $(ARCH),,$(BUILD)/tandem demo --testbed words --out runs/demo-words --cache runs/cache)

bench: build
	@bench/run_bench.sh $(BUILD) 3
	@echo "Qwen3-0.6B-shaped full fine-tuning step, batch 1 x 512 (peak memory and tokens/s):"
	@bench/run_bench.sh $(BUILD) 1 --hidden 1024 --layers 28 --heads 16 --kv-heads 8 --head-dim 128 --ffn 3072 \
	  --vocab 151936 --tied --qk-norm --batch 1 --seq 512 --steps 2
	@$(BUILD)/bench_gemm
	@bench/bench_strategies.sh $(BUILD)
	@bench/run_tokenizer_bench.sh $(BUILD)
	@echo "DPO prefix sharing (d=256, 4 layers, vocab 8192, 4 pairs):"
	@for p in 64 192 512; do $(BUILD)/bench_prefix_sharing --prompt $$p --response 64; done
	@echo "Attention share of the step, old vs tiled kernel (d=512, 6 layers, 2048 tokens/step):"
	@OMP_NUM_THREADS=$(JOBS) $(BUILD)/bench_attention

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(SAN_BUILD)
