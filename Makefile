# failbridge — the commands a newcomer expects. Everything installs into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run test unit integration e2e lint package cfn-lint bench schemas clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the whole stack on 127.0.0.1, in the foreground
	$(BIN)/python -m devstack

test: $(STAMP)  ## the whole suite: unit, integration (moto in-process), e2e (local stack)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py chalicelib devstack infra bench schemas
	$(BIN)/mypy client/src
	$(BIN)/mypy --explicit-package-bases tests/unit/fakes.py tests/unit/test_fakes.py  # the fakes conform to the ports

package: $(STAMP)  ## build/package/: the SAM template with our merge template, the zip with bytecode
	$(BIN)/python -m infra.build
	rm -rf build/package
	$(BIN)/chalice package --stage dev --merge-template build/merge-template.json build/package
	$(BIN)/python -m infra.bytecode build/package/deployment.zip build/package/sam.json  # prints the size

cfn-lint: package
	$(BIN)/cfn-lint build/package/sam.json
	$(BIN)/python -m infra.build --check build/package/sam.json

schemas: $(STAMP)  ## regenerate schemas/ from the code
	$(BIN)/python -m schemas.generate

bench: $(STAMP)  ## prints figures; fails on nothing
	$(BIN)/python -m bench

clean:
	rm -rf build .local .pytest_cache .mypy_cache .ruff_cache
