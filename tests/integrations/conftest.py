"""The ``real_server`` fixture (tests/integrations/real_servers.py) for every test here."""

from integrations.real_servers import real_server  # noqa: F401 - a fixture
