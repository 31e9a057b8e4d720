"""Request and answer shapes of the intake API. Requests are checked by `gateway.services.intake.parse_item`
(fast enough for batches of 1,000); these serializers document them in the OpenAPI schema and format answers."""

from rest_framework import serializers

from gateway.models import Message, OptOut
from gateway.scheduling import PRIORITIES
from gateway.services.message_reads import carrier_msg_ids
from sms_contract.masking import display_mobile


class MessageInSerializer(serializers.Serializer):
    mobile = serializers.CharField(help_text="11-digit China Mobile number; +86/86 prefixes are accepted.")
    template_code = serializers.CharField(required=False, max_length=60, help_text="A registered template.")
    params = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Values for the template's {placeholders}."
    )
    content = serializers.CharField(
        required=False, help_text="Free text without signature (only clients allowed free content)."
    )
    client_ref = serializers.CharField(
        required=False, max_length=64, help_text="Your id for the notice; repeating it sends nothing more."
    )
    priority = serializers.ChoiceField(
        choices=["urgent", "normal", "bulk"], required=False, help_text="Default: the template's notice type's."
    )
    send_at = serializers.DateTimeField(
        required=False, help_text="Not before this moment (ISO 8601 with offset), within the validity."
    )


class BatchInSerializer(serializers.Serializer):
    messages = MessageInSerializer(many=True, help_text="1 to 1,000 messages.")


class QueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    units = serializers.IntegerField()
    client_ref = serializers.CharField()


class BatchAcceptedSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.IntegerField()
    units = serializers.IntegerField()
    duplicate = serializers.BooleanField(required=False)


class BatchRejectedSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()


class BatchOutSerializer(serializers.Serializer):
    accepted = BatchAcceptedSerializer(many=True)
    rejected = BatchRejectedSerializer(many=True)


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    message_id = serializers.IntegerField()
    client_ref = serializers.CharField()
    status = serializers.CharField()
    stat = serializers.CharField()
    at = serializers.DateTimeField()
    units = serializers.IntegerField()
    segments = serializers.IntegerField()
    node = serializers.CharField(allow_null=True)


class ReportFeedSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    next = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class MessageOutSerializer(serializers.ModelSerializer):
    mobile = serializers.SerializerMethodField()
    node = serializers.SerializerMethodField()
    carrier_msg_ids = serializers.SerializerMethodField()
    priority = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "client_ref",
            "mobile",
            "status",
            "units",
            "segments",
            "node",
            "created_at",
            "valid_until",
            "submitted_at",
            "delivered_at",
            "stat",
            "possible_duplicate",
            "carrier_msg_ids",
            "priority",
            "not_before",
        ]

    def get_mobile(self, obj: Message) -> str:
        if self.context.get("api_client") is not None:
            return obj.mobile  # a client sees the numbers it sent to
        return display_mobile(obj.mobile, self.context["request"].user)

    def get_node(self, obj: Message) -> str | None:
        return obj.node.name if obj.node_id else None

    def get_priority(self, obj: Message) -> str:
        return PRIORITIES[obj.priority]

    def get_carrier_msg_ids(self, obj: Message) -> list[str]:
        return carrier_msg_ids(obj)


class OptOutOutSerializer(serializers.Serializer):
    mobile = serializers.CharField()
    opted_out = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=OptOut.Source.choices, allow_null=True)
