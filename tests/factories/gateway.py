import factory

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
    created_at = factory.Faker("date_time_this_month", tzinfo=__import__("datetime").UTC)
    valid_until = factory.LazyAttribute(lambda o: o.created_at + __import__("datetime").timedelta(hours=24))
