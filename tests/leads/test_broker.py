"""The hand-over to the broker keeps one connection per thread, and drops it after a failure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from leads.services import broker


class FakeConnection:
    def __init__(self):
        self.released = False

    def release(self):
        self.released = True


class FakeTask:
    name = "fake.task"

    def __init__(self):
        self.opened: list[FakeConnection] = []
        self.sent: list[tuple[list, FakeConnection]] = []
        self.fail = False
        self.app = SimpleNamespace(
            conf=SimpleNamespace(broker_write_url=None, broker_url="redis://example/0"),
            connection_for_write=self._open,
        )

    def _open(self, **_options):
        conn = FakeConnection()
        self.opened.append(conn)
        return conn

    def apply_async(self, *, args, connection, retry):
        if self.fail:
            raise ConnectionError("broker gone")
        self.sent.append((args, connection))


@pytest.fixture(autouse=True)
def _fresh_thread_connection():
    broker._drop()
    yield
    broker._drop()


def test_requests_in_one_thread_share_one_connection():
    task = FakeTask()
    assert broker.tasks_send_safely(task=task, calls=[(1,)], timeout=1)
    assert broker.tasks_send_safely(task=task, calls=[(2,), (3,)], timeout=1)
    assert len(task.opened) == 1
    assert [args for args, _ in task.sent] == [[1], [2], [3]]


def test_a_failed_send_drops_the_connection_and_the_next_send_reconnects():
    task = FakeTask()
    assert broker.tasks_send_safely(task=task, calls=[(1,)], timeout=1)
    task.fail = True
    assert broker.tasks_send_safely(task=task, calls=[(2,)], timeout=1) is False
    assert task.opened[0].released
    task.fail = False
    assert broker.tasks_send_safely(task=task, calls=[(3,)], timeout=1)
    assert len(task.opened) == 2 and task.sent[-1][1] is task.opened[1]


def test_a_new_broker_address_gets_a_new_connection():
    task = FakeTask()
    broker.tasks_send_safely(task=task, calls=[(1,)], timeout=1)
    task.app.conf.broker_url = "redis://elsewhere/0"
    broker.tasks_send_safely(task=task, calls=[(2,)], timeout=1)
    assert len(task.opened) == 2 and task.opened[0].released
