"""The sending profile (signature and service code, 3.1.9)."""

from django.db import transaction

from gateway.models import SendingProfile


@transaction.atomic
def sending_profile_update(*, profile: SendingProfile, **fields) -> SendingProfile:
    """Change the profile; a registered service code cannot change (ValidationError, nothing saved)."""
    profile = SendingProfile.objects.select_for_update().get(pk=profile.pk)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    return profile
