"""Step Functions task handlers: a small event dict in, one service call, a small dict out.

Execution input carries ids only (never tokens or PII); handlers are idempotent; Retry and Catch live in the
state machine definitions under ``infra/statemachines/``.
"""
