"""Protocol-neutral parts of talking to carrier gateways (no Django): the back-off."""
