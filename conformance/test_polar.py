"""Conformance: Polar's official Python SDK (`polar-sdk`) against the Polar
stand-in in `mock-vendors`, and the Standard Webhooks reference library
(`standardwebhooks`) against both our server's verifier and the stand-in's
signer.

- The SDK makes the calls Handoo makes (products, checkout, customer
  portal session, customer by external id, subscriptions, event ingestion)
  and parses every answer into its typed models — a mock body missing a
  required field, or a wrong status code, makes it raise — and maps the
  stand-in's error bodies onto its typed errors.
- The stand-in's webhooks (sent as a browser pays) are checked by the SDK's
  `validate_event` and by `standardwebhooks`.
- `standardwebhooks` signs webhooks, in Polar's key form and in the
  specification's, that our server accepts; a tampered body, a stale
  timestamp or another key it refuses with 401.

Run by `scripts/conformance`: MOCK is the stand-in's base URL, SERVER a
Handoo server whose POLAR_WEBHOOK_SECRET is SERVER_POLAR_SECRET.
"""

import base64
import http.server
import json
import os
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import standardwebhooks
from polar.base import PolarClientError, PolarServerError
from polar.v2026_10 import Polar
from polar.v2026_10.errors import HTTPValidationError, ResourceNotFound
from polar.v2026_10.webhooks import validate_event
from polar.webhooks import PolarWebhookVerificationError

MOCK = os.environ["MOCK"]
SERVER = os.environ.get("SERVER")
SERVER_SECRET = os.environ.get("SERVER_POLAR_SECRET", "")
POLAR = f"{MOCK}/polar"
PRO = "0a0a0a0a-0000-4000-8000-0000000000f2"
BUSINESS = "0a0a0a0a-0000-4000-8000-0000000000f3"
MOCK_SECRET = "whsec_conformance_mock"


def sdk(token="polar_oat_conformance"):
    return Polar(token, base_url=POLAR)


def control(path, body):
    r = httpx.post(f"{MOCK}/__control/polar/{path}", json=body)
    assert r.status_code < 300, r.text
    return r


class Receiver:
    """Collects the webhooks the stand-in sends: raw body and headers."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()


def test_plans_are_listed_with_their_fixed_and_metered_prices():
    with sdk() as polar:
        page = polar.products.list(is_archived=False, is_recurring=True, limit=100, page=1)
        assert page.pagination.total_count == 3 and page.pagination.max_page == 1
        by_name = {p.name: p for p in page.items}
        assert set(by_name) == {"Starter", "Pro", "Business"}
        pro = by_name["Pro"]
        assert pro.is_recurring and pro.recurring_interval == "month"
        assert pro.metadata["call_minutes"] == 1000
        assert [(p.amount_type, p.price_amount, p.price_currency) for p in pro.prices] == [("fixed", 4900, "usd")]
        metered = [p for p in by_name["Business"].prices if p.amount_type == "metered_unit"]
        assert len(metered) == 1 and metered[0].meter.name == "call_minutes"
        assert str(metered[0].unit_amount) == "2" and metered[0].cap_amount == 15000
        # Paging as the SDK pages.
        assert len(list(polar.products.iter_list(limit=1))) == 3


def test_a_checkout_paid_starts_a_subscription_the_portal_and_webhooks_agree():
    org = str(uuid.uuid4())
    hooks = Receiver()
    control("webhook", {"url": hooks.url, "secret": MOCK_SECRET})
    try:
        with sdk() as polar:
            checkout = polar.checkouts.create(
                products=[PRO],
                external_customer_id=org,
                success_url="http://127.0.0.1:3000/app/billing?checkout={CHECKOUT_ID}",
                return_url="http://127.0.0.1:3000/app/billing",
                metadata={"org_id": org},
            )
            assert checkout.status == "open" and checkout.amount == 4900
            assert checkout.url.startswith(f"{POLAR}/checkout/")
            assert checkout.external_customer_id == org
            # The buyer pays on the checkout page.
            paid = httpx.post(f"{checkout.url}/confirm", follow_redirects=False)
            assert paid.status_code == 303
            assert paid.headers["location"] == f"http://127.0.0.1:3000/app/billing?checkout={checkout.id}"
            assert polar.checkouts.get(checkout.id).status == "succeeded"

            customer = polar.customers.get_external(org)
            assert customer.external_id == org
            subs = polar.subscriptions.list(external_customer_id=org, limit=100)
            assert [(s.status, s.product_id, s.amount) for s in subs.items] == [("active", PRO, 4900)]
            sub = polar.subscriptions.get(subs.items[0].id)
            assert sub.customer.external_id == org and sub.current_period_end > sub.current_period_start

            session = polar.customer_sessions.create(
                external_customer_id=org, return_url="http://127.0.0.1:3000/app/billing"
            )
            assert session.customer_portal_url.startswith(f"{POLAR}/portal")
            assert session.token in session.customer_portal_url

        # The webhooks the payment sent: valid for Polar's SDK and for the
        # reference library (with the key Polar signs with: the secret's bytes).
        deadline = time.time() + 5
        while len(hooks.received) < 3 and time.time() < deadline:
            time.sleep(0.05)
        wh = standardwebhooks.Webhook(base64.b64encode(MOCK_SECRET.encode()).decode())
        for body, headers in hooks.received:
            # Parsed into the SDK's typed event, or it raises.
            validate_event(body.decode(), headers, MOCK_SECRET)
            assert wh.verify(body, headers)["type"] == json.loads(body)["type"]
            with pytest.raises(PolarWebhookVerificationError):
                validate_event(body.decode(), headers, "whsec_another_secret")
        kinds = [json.loads(b)["type"] for b, _ in hooks.received]
        assert kinds == ["checkout.updated", "subscription.created", "subscription.active"], kinds
    finally:
        control("webhook", {"url": None})
        hooks.close()


def test_usage_events_are_ingested_once_per_external_id():
    org = str(uuid.uuid4())
    now = datetime.now(timezone.utc).isoformat()
    event = {
        "name": "handoo.usage",
        "external_customer_id": org,
        "external_id": str(uuid.uuid4()),
        "timestamp": now,
        "metadata": {"call_seconds": 90, "llm_input_tokens": 1200, "source": "call"},
    }
    with sdk() as polar:
        first = polar.events.ingest(events=[event])
        assert (first.inserted, first.duplicates) == (1, 0)
        again = polar.events.ingest(events=[event, {**event, "external_id": str(uuid.uuid4())}])
        assert (again.inserted, again.duplicates) == (1, 1)


def test_errors_arrive_as_the_sdks_typed_errors():
    with sdk() as polar:
        with pytest.raises(ResourceNotFound) as e:
            polar.customers.get_external(f"nobody-{uuid.uuid4()}")
        assert e.value.status_code == 404 and e.value.error.detail
        with pytest.raises(HTTPValidationError) as e:
            polar.checkouts.create(products=[str(uuid.uuid4())], success_url="http://127.0.0.1/")
        assert e.value.status_code == 422 and e.value.error.detail[0].loc
    with sdk("bad-key") as polar, pytest.raises(PolarClientError) as e:
        polar.products.list()
    assert e.value.status_code == 401
    control("down", {"down": True})
    try:
        with sdk() as polar, pytest.raises(PolarServerError):
            polar.products.list()
    finally:
        control("down", {"down": False})


def _webhook(kind="order.created"):
    return json.dumps({"type": kind, "timestamp": datetime.now(timezone.utc).isoformat(), "data": {"id": str(uuid.uuid4())}})


def _post(body, headers):
    return httpx.post(f"{SERVER}/webhooks/polar", content=body, headers={**headers, "content-type": "application/json"})


@pytest.mark.skipif(not SERVER, reason="needs a server (scripts/conformance starts one)")
def test_our_server_accepts_what_standardwebhooks_signs_and_nothing_else():
    assert SERVER_SECRET.startswith("whsec_")
    # Polar's key (the secret's own bytes) and the specification's (the
    # base64 after `whsec_`): the server accepts both, as Polar's SDK does.
    polar_form = standardwebhooks.Webhook(base64.b64encode(SERVER_SECRET.encode()).decode())
    spec_form = standardwebhooks.Webhook(SERVER_SECRET)
    for wh in (polar_form, spec_form):
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(timezone.utc)
        body = _webhook()
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": wh.sign(msg_id, now, body)}
        assert _post(body, headers).status_code == 204
        # The same delivery again: received, once.
        assert _post(body, headers).status_code == 204
        # Tampered: refused.
        assert _post(body.replace("order.created", "order.updated"), headers).status_code == 401
        # Six minutes old, signed then: refused.
        old = datetime.fromtimestamp(now.timestamp() - 360, timezone.utc)
        stale = {"webhook-id": f"msg_{uuid.uuid4().hex}", "webhook-timestamp": str(int(old.timestamp()))}
        stale["webhook-signature"] = wh.sign(stale["webhook-id"], old, body)
        assert _post(body, stale).status_code == 401
    # Another key, and no signature at all: refused.
    other = standardwebhooks.Webhook(base64.b64encode(b"whsec_someone_else").decode())
    now = datetime.now(timezone.utc)
    body = _webhook()
    headers = {"webhook-id": "msg_other", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": other.sign("msg_other", now, body)}
    assert _post(body, headers).status_code == 401
    assert _post(body, {}).status_code == 401
    # Several signatures (a key rotation): one that holds is enough.
    msg_id = f"msg_{uuid.uuid4().hex}"
    rotated = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": other.sign(msg_id, now, body) + " " + polar_form.sign(msg_id, now, body)}
    assert _post(body, rotated).status_code == 204
