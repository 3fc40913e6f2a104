"""The Airflow-free Thredfi client, usable from scripts, notebooks and the trigger alike.

Import from the module that holds a name, as Airflow's own provider packages do:
``thredfi_provider.client.client.ThredfiClient``, ``thredfi_provider.client.settings.ClientSettings``,
``thredfi_provider.client.errors.ThredfiError``. This package itself imports nothing, so a DAG
file that imports an operator (which reaches ``client.errors`` or ``client.settings``) does not
pay for ``requests`` and ``tenacity`` at parse time.

The layers, each a module named for its job:

- :mod:`~thredfi_provider.client.transport`: the HTTP client (one pooled session, bounded sends);
- :mod:`~thredfi_provider.client.requestor`: tokens, retries, typed and redacted errors;
- :mod:`~thredfi_provider.client.pagination`: list endpoints, page by page;
- :mod:`~thredfi_provider.client.resources`: the one registry of resources;
- :mod:`~thredfi_provider.client.client`: ``ThredfiClient``, the resource calls over them.
"""
