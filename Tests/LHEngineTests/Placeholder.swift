// Placeholder so the test target builds; LongHeads engine tests land here.
