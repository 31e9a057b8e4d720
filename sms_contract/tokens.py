"""Token authentication for staff using the API from scripts: `Authorization: Token <key>`, as with DRF's
tokens, but the key is stored only as its SHA-512 (django-rest-knox; docs/api.md "Staff tokens")."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions


class HashedTokenAuthentication(TokenAuthentication):
    """knox's authentication with a header that is not UTF-8 or absurdly long refused as an invalid token (401)
    instead of failing on decoding (500)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if len(token) > 200:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sms_contract.tokens.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Staff token: "Token <key>" (created in the admin or with `manage.py create_api_token`).',
        }
