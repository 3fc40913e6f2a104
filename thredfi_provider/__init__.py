"""Apache Airflow provider for the Thredfi accounting Partner API.

Kept empty on purpose: DAG files import operators from their own modules, and this
package must not drag the client, pydantic models or the sandbox into every parse.
"""

from thredfi_provider.version import __version__

__all__ = ["__version__"]
