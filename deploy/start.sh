#!/bin/sh
# What a Heard container runs: bring the records' schema up to date, then serve.
# `heard migrate` is safe from every worker at once (on PostgreSQL it takes an advisory
# lock), so each container runs it on start and an upgrade needs nothing else.
# One process per container: scale with containers, not with --workers.
set -eu
heard migrate
exec heard serve --workers 1 "$@"
