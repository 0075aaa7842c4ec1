import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// The project's custom search attributes. The dev server registers them at start; other clusters need
// `temporal operator search-attribute create` (see the README). Workflow code imports these keys too,
// so this file must stay free of side effects.
export const QUALYS_CONNECTION = defineSearchAttributeKey('QualysConnection', SearchAttributeType.KEYWORD);

export const PROJECT_SEARCH_ATTRIBUTES = [QUALYS_CONNECTION] as const;
