// The stories260K model's linear layers (../shared/data/models): bench/stories.ts, shared with the bench.
export * from '../../bench/stories';
