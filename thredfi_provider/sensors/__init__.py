"""The sensor a DAG imports (:mod:`.resource`)."""

from thredfi_provider._deprecations import add_moved_modules

# What a sensor waits for moved to the hook, which the trigger shares (until 2.0, with a warning).
add_moved_modules(__name__, {"query": ("thredfi_provider.hooks.status",)})
