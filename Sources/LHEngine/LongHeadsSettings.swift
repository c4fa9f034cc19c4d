// Placeholder so the target builds; the LongHeads engine lands here.
