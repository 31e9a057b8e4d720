from datetime import timedelta

import factory
from django.test import Client
from django.utils import timezone

from gateway.apiclient import SmsApiClient
from gateway.crypto import encrypt_secret
from gateway.models import ApiClient, CarrierNode, Message, MessageTemplate, NoticeType

TEST_SECRET = "test-secret-0123456789"  # noqa: S105 - test data


class NoticeTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoticeType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"type{n}")
    name = factory.LazyAttribute(lambda o: o.code)


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    code = factory.Sequence(lambda n: f"tpl{n}")
    notice_type = factory.SubFactory(NoticeTypeFactory)
    text = "您好{name}。"
    registration = MessageTemplate.Registration.REGISTERED


class ApiClientFactory(factory.django.DjangoModelFactory):
    """A client whose secret is TEST_SECRET."""

    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"client{n}")
    key_id = factory.Sequence(lambda n: f"k_test{n}")
    secret_encrypted = factory.LazyFunction(lambda: encrypt_secret(TEST_SECRET))


class CarrierNodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierNode

    name = factory.Sequence(lambda n: f"node{n}")
    host = "127.0.0.1"
    sp_id = "901234"
    secret_encrypted = factory.LazyFunction(lambda: encrypt_secret("node-secret"))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    mobile = "13912345678"
    content = "【12123】您好"
    units = 1
    segments = 1
    # Now: inside the admin list's default range (7 days) and this month's partition.
    created_at = factory.LazyFunction(timezone.now)
    valid_until = factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=24))


class DjangoTestApiClient(SmsApiClient):
    """The bundled client, sending through Django's test client instead of a socket."""

    def __init__(self, key: str, secret: str):
        super().__init__("http://testserver", key, secret)
        self.django = Client()

    def _roundtrip(self, method, path, body, sign, *, repeatable):
        headers = sign()
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
        response = self.django.generic(
            method, path, data=body, content_type=headers.get("Content-Type", "application/octet-stream"), **meta
        )
        return response.status_code, response.content
