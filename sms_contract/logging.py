"""Log filter that masks mainland mobile numbers (139****5678) in every record."""

import logging

from sms_contract.masking import mask_mobiles_in_text


class MaskMobileFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_mobiles_in_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
