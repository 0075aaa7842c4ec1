import { defineQuery } from '@temporalio/workflow';

export type SyncPhase = 'validating' | 'enumerating' | 'syncing pages' | 'committing' | 'done' | 'failed';

export interface SyncProgress {
  connection: string;
  phase: SyncPhase;
  pagesTotal: number;
  pagesDone: number;
  hosts: number;
  assets: number;
  detections: number;
  findings: number;
  droppedNoCve: number;
}

/** `temporal workflow query --name progress` answers with the run's SyncProgress. */
export const progressQuery = defineQuery<SyncProgress>('progress');
