"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file,
polled every 50 ms instead of every second so live feedback stays under a
second. (kombu passes transport options straight to create_engine, so the
interval cannot be set as an option; a subclass sets it.)"""

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

ALIAS = "sqlitebroker"


class Transport(SQLAlchemyTransport):
    polling_interval = 0.05


TRANSPORT_ALIASES.setdefault(ALIAS, "trainer_app.broker:Transport")
