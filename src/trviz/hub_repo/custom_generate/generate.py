"""Token Recycling (Luo et al., ACL 2025, arXiv 2408.08696) for ``model.generate``::

    model.generate(input_ids, custom_generate=trviz.custom_generate_dir(),
                   trust_remote_code=True, tokenizer=tokenizer, max_new_tokens=64)

This folder is laid out as a Hugging Face Hub ``custom_generate`` repository. The decoding lives in
the trviz package (``requirements.txt``); this file hands the call over to it.
"""

from trviz.hf_entry import folder_generate


def generate(model, **arguments):
    """``model.generate``'s arguments, as given, decoded by Token Recycling (``trviz.hf_entry``)."""
    return folder_generate(model, **arguments)
