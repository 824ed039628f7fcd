"""Payouts: payee accounts, escrow, payouts and a double-entry ledger."""
