"""The MQTT adapter: subscribe to the campus topic tree with QoS 1 and a persistent session.

Topics (the tree follows Frigate's and Zigbee2MQTT's conventions)::

    campus/<sensor_id>/<kind>        one event (JSON object); sensor_id and kind may be left out of the payload,
                                     and ts too (stamped on receipt, marked "stamped": "receipt")
    campus/<sensor_id>/availability  "online" / "offline" or {"state": "online"}, retained, the sensor's last will
    campus/events                    a gateway's batch: a JSON array or NDJSON of full events
    campus/twin/availability         the twin's own "online" / "offline" (retained, last will)
    campus/twin/rejected             why a message was rejected (JSON, never retained)

The adapter connects with a fixed client id and ``clean_session = False``
(MQTT 3.1.1), so the broker keeps its subscription and queues QoS 1 messages
while the twin is down. Messages are acknowledged by hand (``manual_ack``):
a PUBACK goes out only after the batch holding the message is committed to
the store, in the order the messages came. A crash before the commit means no
PUBACK, so the broker delivers the message again, and ``(sensor_id, seq)``
makes the second copy a duplicate. Alarms are never retained (a retained
alarm would fire again on every reconnect); only availability is.

Other systems' topics come in through :class:`TopicAdapter` objects
(``sensors.adapters``: Frigate, Zigbee2MQTT). :class:`Broker` reads
``mqtts://`` URLs (CA file, client certificate, username and password) and
``version=5`` (MQTT 5, the session kept by a session expiry interval).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlparse

from sensors.events import (
    BodyError,
    Outcome,
    Rejected,
    decode_event,
    echo,
    split_events,
)
from sensors.ingest import Ingestor
from sensors.problems import Problems
from sensors.store import StoreFull

log = logging.getLogger("twin.mqtt")

ROOT = "campus"
BATCH_TOPIC = f"{ROOT}/events"
TWIN_TOPIC = f"{ROOT}/twin"
CLIENT_ID = "campus-twin-ingest"
MAX_BATCH = 5000
"""Most messages committed in one store transaction."""
MAX_BATCH_BYTES = 256 * 1024
"""Most payload bytes committed in one transaction (about 2,500 events): keeps an alarm's wait behind a batch short."""
STOP_WAIT_S = 5.0
"""Seconds a stop waits for the broker to confirm the twin's last message (and so every PUBACK before it)."""
READ_BURST = 1000
"""Most packets the network thread reads in one pass before it writes (PUBACKs) and checks the keepalive again."""


SESSION_EXPIRY_S = 30 * 24 * 3600
"""MQTT 5: how long the broker keeps the twin's session while it is away (as ``persistent_client_expiration 30d``)."""
PASSWORD_ENV = "TWIN_MQTT_PASSWORD"
"""The broker password when the URL names a user but no password (keeps it out of the process list)."""
_QUERY = {"ca": "ca_file", "cert": "cert_file", "key": "key_file", "version": "version"}


@dataclass(frozen=True)
class Broker:
    """Where the broker is and how to reach it.

    ``mqtt://[user[:password]@]HOST[:PORT]`` (port 1883) or
    ``mqtts://…`` (TLS, port 8883), with optional query parameters:
    ``ca=FILE`` (the CA that signed the broker's certificate; default: the
    system's CAs), ``cert=FILE`` and ``key=FILE`` (a client certificate, for
    brokers that require one) and ``version=5`` (MQTT 5; default 3.1.1).
    A user without a password in the URL takes ``$TWIN_MQTT_PASSWORD``.
    """

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    version: str = "3.1.1"

    @classmethod
    def parse(cls, url: str) -> Broker:
        """Parse a broker URL; raises ``ValueError`` naming what is wrong."""
        u = urlparse(url if "://" in url else f"mqtt://{url}")
        if u.scheme not in ("mqtt", "mqtts"):
            msg = f"broker URL {url!r}: the scheme must be mqtt:// or mqtts:// (TLS)"
            raise ValueError(msg)
        if not u.hostname:
            msg = f"broker URL {url!r}: no host, expected mqtt://HOST:PORT"
            raise ValueError(msg)
        try:
            port = u.port or (8883 if u.scheme == "mqtts" else 1883)
        except ValueError:
            msg = f"broker URL {url!r}: the port must be a number"
            raise ValueError(msg) from None
        opts: dict[str, str] = {}
        for name, value in parse_qsl(u.query, keep_blank_values=True):
            if name not in _QUERY:
                msg = f"broker URL {url!r}: unknown parameter {name!r} (expected: {', '.join(_QUERY)})"
                raise ValueError(msg)
            opts[_QUERY[name]] = value
        for field in ("ca_file", "cert_file", "key_file"):
            if field in opts and not Path(opts[field]).is_file():
                msg = f"broker URL {url!r}: {field.removesuffix('_file')}={opts[field]!r} is not a file"
                raise ValueError(msg)
        if ("cert_file" in opts) != ("key_file" in opts):
            msg = f"broker URL {url!r}: a client certificate needs both cert= and key="
            raise ValueError(msg)
        if opts.keys() & {"ca_file", "cert_file"} and u.scheme != "mqtts":
            msg = f"broker URL {url!r}: ca=, cert= and key= need mqtts://"
            raise ValueError(msg)
        if opts.get("version", "3.1.1") not in ("3.1.1", "5"):
            msg = f"broker URL {url!r}: version={opts['version']!r}, expected 3.1.1 or 5"
            raise ValueError(msg)
        password = u.password if u.password is not None or not u.username else os.environ.get(PASSWORD_ENV)
        return cls(u.hostname, port, unquote(u.username) if u.username else None,
                   unquote(password) if password else None, u.scheme == "mqtts", **opts)

    @property
    def address(self) -> str:
        """``mqtt[s]://HOST:PORT`` (no credentials: for logs and status)."""
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}"

    def client(self, client_id: str, *, persistent: bool = False, manual_ack: bool = False) -> Any:
        """A paho client for this broker: protocol, TLS and credentials set; not connected.

        ``persistent`` asks the broker to keep the session (3.1.1: ``clean_session``
        false; MQTT 5: ``clean_start`` false when connecting, see :meth:`connect`).
        """
        import paho.mqtt.client as mqtt

        client = _client_class()
        if self.version == "5":
            c = client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                       manual_ack=manual_ack)
        else:
            c = client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent,
                       protocol=mqtt.MQTTv311, manual_ack=manual_ack)
        if self.tls:
            c.tls_set(ca_certs=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)
        if self.username:
            c.username_pw_set(self.username, self.password)
        return c

    def connect(self, client: Any, *, persistent: bool = False, asynchronous: bool = True) -> None:
        """Connect ``client`` (made by :meth:`client`); MQTT 5 asks for a session that outlives the connection."""
        kw: dict[str, Any] = {"keepalive": 30}
        if self.version == "5":
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S if persistent else 0
            kw.update(clean_start=not persistent, properties=props)
        (client.connect_async if asynchronous else client.connect)(self.host, self.port, **kw)


@functools.cache
def _client_class() -> type:
    """paho's ``Client``, reading every packet that has arrived in one pass of its network loop.

    paho reads one packet per ``select()`` while nothing of its own is in
    flight (an ingest subscriber publishes almost nothing), so each message
    received cost a ``select()``, a keepalive check and a write check as
    well: about half of the network thread's time at 10,000 messages/s.
    Here a pass reads until the socket is drained (at most ``READ_BURST``
    packets); each packet is handled by paho as before. Falls back to paho's
    own client when its internals differ from the 2.x ones this relies on.
    """
    import paho.mqtt.client as mqtt

    if not all(hasattr(mqtt.Client, name) for name in ("_packet_read", "_loop_rc_handle", "_packet_queue")):
        return mqtt.Client

    class Client(mqtt.Client):
        def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
            for _ in range(READ_BURST):
                if self._sock is None:
                    return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
                rc = self._packet_read()
                if rc > 0:
                    return self._loop_rc_handle(rc)
                if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                    break
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

        def ack_all(self, mids: Sequence[int]) -> None:
            """Acknowledge QoS 1 messages in this order, in one write (``ack`` queues a packet and wakes the network
            thread per message). The bytes on the wire are the same PUBACKs, back to back."""
            if self._manual_ack and mids:
                self._packet_queue(mqtt.PUBACK, b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids]), 0, 0)

    return Client


_PUBACK = struct.Struct("!BBH")
"""A PUBACK packet: type, remaining length 2, message id (MQTT 3.1.1; in MQTT 5 the same two bytes mean success)."""


def topic_of(event: dict[str, Any]) -> str:
    """The topic a sensor publishes this event on."""
    return f"{ROOT}/{event['sensor_id']}/{event['kind']}"


def availability(sensor_id: str, payload: bytes, now: float) -> dict[str, Any]:
    """A heartbeat from an availability message, stamped on receipt.

    Takes the plain form (``online`` / ``offline``, Home Assistant's default
    ``payload_available`` / ``payload_not_available``) and Zigbee2MQTT's JSON
    form (``{"state": "online"}``). Anything else is left for the schema to
    reject by its ``status`` field.
    """
    text = payload[:256].decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        doc = decode_event(text)
        text = doc.get("state") if isinstance(doc, dict) and isinstance(doc.get("state"), str) else text
    return {"sensor_id": sensor_id, "kind": "heartbeat", "ts": now, "stamped": "receipt",
            "status": echo(text.strip().strip('"').lower(), 40)}


def decode(topic: str, payload: bytes, now: float | None = None) -> list[Any]:
    """Raw events from one MQTT message; never raises.

    The sensor id and kind come from the topic when the payload leaves them
    out; an event without ``ts`` is stamped with ``now`` (the twin's clock on
    receipt, default the wall clock) and marked ``"stamped": "receipt"``.
    A payload over the limits of :func:`sensors.events.decode_event`,
    not JSON, or on a topic outside the tree is a :class:`~sensors.events.Rejected`
    in its place, so it is rejected alone and its batch goes on.
    """
    now = time.time() if now is None else now
    if topic == BATCH_TOPIC:
        try:
            return split_events(payload)
        except BodyError as e:
            return [Rejected(str(e))]
    parts = topic.split("/")
    if len(parts) != 3:
        return [Rejected(f"topic {echo(topic)!r} is not {ROOT}/<sensor_id>/<kind>", "topic")]
    _, sid, kind = parts
    if kind == "availability":  # an empty message clears the retained one: no news
        return [availability(sid, payload, now)] if payload.strip() else []
    doc = decode_event(payload)
    if isinstance(doc, dict):
        doc.setdefault("sensor_id", sid)
        doc.setdefault("kind", kind)
        if "ts" not in doc:
            doc.update(ts=now, stamped="receipt")
        if doc["sensor_id"] != sid or doc["kind"] != kind:
            return [Rejected(f"payload sensor_id/kind ({echo(str(doc['sensor_id']), 80)}/{echo(str(doc['kind']), 20)}) "
                             f"differ from the topic {echo(topic)!r}", "topic")]
    return [doc]


class TopicAdapter(Protocol):
    """Another system's topics turned into our events (e.g. :class:`sensors.adapters.frigate.Frigate`)."""

    def subscriptions(self) -> list[str]:
        """Topic filters to subscribe to (QoS 1)."""
        ...

    def decode(self, topic: str, payload: bytes, now: float) -> list[Any] | None:
        """Raw events from one message on its topics (``[]``: ignored on purpose), or ``None`` when not its topic."""
        ...

    def status(self) -> dict[str, Any]:
        """What the adapter reads and what it saw (JSON-ready)."""
        ...


class MqttIngest:
    """Feeds an ``Ingestor`` from an MQTT broker.

    Parameters
    ----------
    ingestor : Ingestor
        Where events go.
    broker : Broker | str
        The broker (``mqtt[s]://HOST:PORT``, see :class:`Broker`).
    client_id : str
        Fixed, so the broker keeps this subscriber's session across restarts.
    adapters : sequence of TopicAdapter
        Other systems' topics to take as well (Frigate), tried before the campus tree.
    """

    def __init__(self, ingestor: Ingestor, broker: Broker | str, *, client_id: str = CLIENT_ID,
                 adapters: Sequence[TopicAdapter] = ()) -> None:
        self.ingestor = ingestor
        self.broker = Broker.parse(broker) if isinstance(broker, str) else broker
        self.adapters = tuple(adapters)
        self.client = self.broker.client(client_id, persistent=True, manual_ack=True)
        self.client.will_set(f"{TWIN_TOPIC}/availability", "offline", qos=1, retain=True)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = lambda client, userdata: self.problems.add(
            f"cannot connect to {self.broker.address} (address, port, TLS certificates?); retrying")
        self._inbox: deque[tuple[int, int, str, bytes] | None] = deque()
        """Messages received and not yet taken by the writer (``None``: stop), appended by the network thread."""
        self._wake = threading.Event()
        """Set when the inbox may hold something; the writer clears it before it takes."""
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="twin-mqtt-writer", daemon=True)
        self.connected = threading.Event()
        """Set once the broker has granted the twin's subscriptions (SUBACK), cleared on a disconnect."""
        self._subscribing = -1
        """The message id of the latest SUBSCRIBE."""
        self.received = 0
        self.stored = 0
        self.rejected = 0
        self.problems = Problems(log, "mqtt")
        """Refused or failed connections, batches that failed to commit."""

    def start(self) -> None:
        """Connect (retrying in the background) and start consuming."""
        self._writer.start()
        self.client.reconnect_delay_set(0.2, 5)
        self.broker.connect(self.client, persistent=True)
        self.client.loop_start()

    def stop(self) -> None:
        """Finish the batch in hand (stored and acknowledged), say offline, and disconnect.

        The offline message goes out with QoS 1 after the last PUBACK and is
        waited for: the broker takes a connection's packets in order, so its
        answer means it has every PUBACK before it, and the resumed session is
        sent nothing a second time (an event without ``seq`` would be stored
        twice). Without that wait, a clean stop often lost the last PUBACKs.
        """
        self._stop.set()
        self._inbox.append(None)
        self._wake.set()
        self._writer.join(timeout=10)
        if self.connected.is_set():
            info = self.client.publish(f"{TWIN_TOPIC}/availability", "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=STOP_WAIT_S)
            except (RuntimeError, ValueError):  # the connection is gone: the broker redelivers, seq deduplicates
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def status(self) -> dict[str, Any]:
        """Connection and counters."""
        return {"broker": self.broker.address, "protocol": self.broker.version, "connected": self.connected.is_set(),
                "received": self.received, "stored": self.stored, "rejected": self.rejected, **self.problems.status(),
                "adapters": [a.status() for a in self.adapters]}

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until subscribed."""
        return self.connected.wait(timeout)

    # -- paho callbacks (network thread) ---------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            self.problems.add(f"connect refused: {rc}")
            return
        self._subscribing = client.subscribe(
            [(f"{ROOT}/+/+", 1), (BATCH_TOPIC, 1), *((t, 1) for a in self.adapters for t in a.subscriptions())])[1]
        client.publish(f"{TWIN_TOPIC}/availability", "online", qos=1, retain=True)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any = None) -> None:
        """The broker granted the subscriptions (SUBACK): from now on it delivers what is published, so the twin is
        connected. Set on the CONNACK instead, a device publishing at once could beat the SUBSCRIBE to a fresh
        session and its message would go to nobody."""
        if mid == self._subscribing:
            self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connected.clear()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self._inbox.append((msg.mid, msg.qos, msg.topic, msg.payload))
        if not self._wake.is_set():  # a deque and a flag: no lock taken per message while the writer is busy
            self._wake.set()

    # -- writer thread ---------------------------------------------------------

    def _write_loop(self) -> None:
        """Take what has arrived (up to ``MAX_BATCH`` messages, ``MAX_BATCH_BYTES``), commit it, acknowledge it; repeat."""
        inbox = self._inbox
        while True:
            if not inbox:
                self._wake.wait()
            self._wake.clear()  # before taking: whatever arrives from now on sets it again
            batch: list[tuple[int, int, str, bytes]] = []
            size = 0
            while inbox and len(batch) < MAX_BATCH and size < MAX_BATCH_BYTES:
                item = inbox.popleft()
                if item is None:
                    self._stop.set()
                    break
                batch.append(item)
                size += len(item[3])
            if batch:
                self._commit_safely(batch)
            if self._stop.is_set():
                return

    def _commit_safely(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        """Commit a batch; a message that makes the commit fail is retried alone and then rejected alone.

        A full disk is no message's fault: nothing is acknowledged and the
        batch is tried again every ``retry`` seconds until it is stored.
        """
        retry = 1.0
        while True:
            try:
                self._commit(batch)
                return
            except StoreFull as e:
                self.problems.add(f"{e}; {len(batch):,} messages wait unacknowledged, retrying in {retry:.0f} s")
                if self._stop.wait(retry):
                    return
                retry = min(2 * retry, 30.0)
            except Exception as e:  # noqa: BLE001 - one bad message must not hold up the others: split the batch
                if len(batch) == 1:
                    self._reject_alone(batch[0], f"{type(e).__name__}: {e}")
                    return
                self.problems.add(f"a batch of {len(batch):,} messages failed ({type(e).__name__}: {e}); committing them one by one")
                for item in batch:
                    self._commit_safely([item])
                return

    def _reject_alone(self, item: tuple[int, int, str, bytes], why: str) -> None:
        """Count, log, report and acknowledge one message the ingest path could not take."""
        mid, qos, topic, _payload = item
        reason = f"message on {topic!r} could not be ingested ({why})"
        log.error("mqtt: %s", echo(reason, 400))
        self.ingestor.store.append([], counters={"rejected:error": 1})
        self.rejected += 1
        self.received += 1
        if qos > 0:
            self.client.ack(mid, qos)
        self.client.publish(f"{TWIN_TOPIC}/rejected", json.dumps(Outcome("rejected", reason=echo(reason, 400)).as_dict()),
                            qos=0, retain=False)

    def _ack(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        """PUBACK only now, after the commit, in arrival order (QoS 1 together, in one write, when paho allows)."""
        ack_all = getattr(self.client, "ack_all", None)
        if ack_all is not None and all(qos <= 1 for _mid, qos, _t, _p in batch):
            ack_all([mid for mid, qos, _t, _p in batch if qos == 1])
            return
        for mid, qos, _t, _p in batch:
            if qos > 0:
                self.client.ack(mid, qos)


    def _commit(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        raws: list[Any] = []
        now = self.ingestor.clock()
        for _mid, _qos, topic, payload in batch:
            if topic.startswith(f"{TWIN_TOPIC}/"):
                continue
            for a in self.adapters:
                got = a.decode(topic, payload, now)
                if got is not None:
                    raws.extend(got)
                    break
            else:
                raws.extend(decode(topic, payload, now))
        outcomes = self.ingestor.submit(raws, source="mqtt") if raws else []
        self.stored += sum(o.status != "rejected" for o in outcomes)
        bad = [o.as_dict() for o in outcomes if o.status == "rejected"]
        self.rejected += len(bad)
        self.received += len(raws)  # last: a reader that sees a message received sees its outcome counted
        self._ack(batch)
        for b in bad[:100]:
            log.warning("mqtt: rejected %s", b)
            self.client.publish(f"{TWIN_TOPIC}/rejected", json.dumps(b), qos=0, retain=False)
