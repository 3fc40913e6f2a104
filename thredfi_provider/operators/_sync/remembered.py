"""What a business's records refer to, as the last run learned it: its currency, parties, accounts.

A day of one new invoice for a known customer should cost the token and the create, not a tour
of the business (its currency, its customers list, its chart of accounts) every run. These facts
do not change under a sync's feet: a business's base currency cannot be changed through the API,
an ``external_id`` maps to one Thredfi id for good, an account code to one account. So with
``state_path`` they are kept in the sync state and read back; a run that learns something new adds
it. When Thredfi refuses a record (400, 404, 422), what was remembered is forgotten, so a stale
fact (a chart of accounts rebuilt by hand) costs one run, not every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Remembered:
    currency: str | None = None
    parties: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> {external_id: id}
    accounts: dict[str, str] = field(default_factory=dict)  # code -> account id
    changed: bool = False
    forgotten: bool = False  # a refusal cleared it: what is stored is not merged back in

    @classmethod
    def from_json(cls, raw: Any) -> Remembered:
        if not isinstance(raw, dict):
            return cls()
        parties: dict[str, Any] = raw["parties"] if isinstance(raw.get("parties"), dict) else {}
        accounts: dict[str, Any] = raw["accounts"] if isinstance(raw.get("accounts"), dict) else {}
        return cls(
            currency=str(raw["currency"]) if raw.get("currency") else None,
            parties={
                str(k): {str(e): str(i) for e, i in v.items()}
                for k, v in parties.items()
                if isinstance(v, dict)
            },
            accounts={str(code): str(account) for code, account in accounts.items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "parties": self.parties, "accounts": self.accounts}

    def merged_with(self, stored: Any) -> dict[str, Any]:
        """What another task instance learned, kept beside what this one did."""
        other = Remembered() if self.forgotten else Remembered.from_json(stored)
        parties = {kind: {**other.parties.get(kind, {}), **mine} for kind, mine in self.parties.items()}
        return {
            "currency": self.currency or other.currency,
            "parties": {**other.parties, **parties},
            "accounts": {**other.accounts, **self.accounts},
        }

    def learn_currency(self, currency: str) -> None:
        if currency and currency != self.currency:
            self.currency, self.changed = currency, True

    def learn_party(self, kind: str, external_id: str, party_id: str) -> None:
        known = self.parties.setdefault(kind, {})
        if known.get(external_id) != party_id:
            known[external_id], self.changed = party_id, True

    def learn_accounts(self, accounts: dict[str, str]) -> None:
        if any(self.accounts.get(code) != account for code, account in accounts.items()):
            self.accounts.update(accounts)
            self.changed = True

    def forget(self) -> None:
        self.currency, self.parties, self.accounts = None, {}, {}
        self.changed = self.forgotten = True
