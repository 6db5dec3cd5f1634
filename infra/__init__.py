"""Deployment: Bicep templates (azd layout) and their offline checks (infra/checks, infra/check.py).

A regular package so ``import infra.checks`` works from tests and from infra/check.py; nothing
here is deployed (.funcignore keeps infra/ out of the Function App package).
"""
