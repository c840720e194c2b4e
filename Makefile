# Thin aliases for the stratus commands, with the seeds' familiar names. Everything real is in `stratus`.
#   make dev                    the whole stack locally (stratus dev)
#   make test                   every test; make test-unit / test-integration: the services' own
#   make build                  the Lambda zips (.stratus/build/)
#   make bootstrap-apply        once per AWS account: the Terraform state bucket and lock table
#   make plan ENV=dev           build + terraform plan, nothing changes
#   make deploy ENV=dev         build, push, terraform apply, wait, smoke-test /health
#   make test-lambda-<svc>      the service's tests, then its zip booted as Lambda does, answering GET /health
#   make test-apprunner-<svc>   the service's tests
#   make logs-<svc> ENV=dev     the service's logs from the running `make dev`; AWS=1 for CloudWatch

ENV ?= dev
UV ?= uv
STRATUS = $(UV) run stratus
BOOTSTRAP_DIR ?= infra/terraform/bootstrap
TERRAFORM ?= terraform

.DEFAULT_GOAL := help
.PHONY: help dev validate test test-unit test-integration check build plan deploy bootstrap-plan bootstrap-apply infra

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

dev:
	$(STRATUS) dev --env $(ENV)

validate:
	$(STRATUS) validate --env $(ENV)

test:
	$(UV) run pytest

test-unit:
	$(STRATUS) test --type unit

test-integration:
	$(STRATUS) test --type integration

check:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run pytest tests/unit -q

build:
	$(STRATUS) build --all --env $(ENV)

infra:
	$(STRATUS) infra --env $(ENV)

plan:
	$(STRATUS) deploy --env $(ENV) --plan

deploy:
	$(STRATUS) deploy --env $(ENV)

bootstrap-plan:
	$(TERRAFORM) -chdir=$(BOOTSTRAP_DIR) init -input=false
	$(TERRAFORM) -chdir=$(BOOTSTRAP_DIR) plan -input=false

bootstrap-apply:
	$(TERRAFORM) -chdir=$(BOOTSTRAP_DIR) init -input=false
	$(TERRAFORM) -chdir=$(BOOTSTRAP_DIR) apply -input=false

test-lambda-%:
	$(STRATUS) test --service $*
	$(STRATUS) invoke $* --build --env $(ENV)

test-apprunner-%:
	$(STRATUS) test --service $*

logs-%:
	$(STRATUS) logs $* --env $(ENV) $(if $(AWS),--aws,) $(if $(FOLLOW),--follow,)
