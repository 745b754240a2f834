import { CorporalError } from '../common/errors.js';
import { REPAIR_ENCRYPTION_CONTENT, RoomRepairQueue, type RepairCalls, type RepairJob, type RoomCreation } from '../common/half-created-room-repair.js';
import type { Logger } from '../common/logger.js';
import type { Reconciler } from './loop/create-reconciler.js';
import { getJoinedRoomIds } from './synapse/admin-users-api.js';
import { getStateEvent, type StateEvent } from './synapse/rooms-api.js';
import { SynapseErrorCode } from './synapse/synapse-errors.js';
import { UserTokenLease } from './synapse/user-token-lease.js';

/**
 * The control child's repair calls for rooms a room creation left half-made (red team 9, F2), for
 * jobs a gateway thread could not finish because the user's token was gone: the user's joined rooms
 * and the room's create and encryption events through the admin API, and the encryption event sent
 * with a token the admin mints for the user (`UserTokenLease`, logged out right after). They need
 * the reconciler's admin session; without it they reject, and the queue logs the job at error
 * level.
 */
export class AdminRepairCalls implements RepairCalls<RepairJob> {
  constructor(private readonly reconciler: () => Reconciler | null, private readonly logger: Logger) {}

  async joinedRooms(job: RepairJob): Promise<Set<string>> {
    const { http, session } = this.parts();
    return new Set(await getJoinedRoomIds(http, session, job.userId));
  }

  async creation(_job: RepairJob, roomId: string): Promise<RoomCreation> {
    const create = await this.event(roomId, 'm.room.create');
    if (create === null) throw new Error('the room has no m.room.create event');
    return { creator: create.sender, createdAt: create.originServerTs ?? null };
  }

  async isEncrypted(_job: RepairJob, roomId: string): Promise<boolean> {
    const encryption = await this.event(roomId, 'm.room.encryption');
    return typeof encryption?.content['algorithm'] === 'string';
  }

  /**
   * The room's event of `type` under state key `""` (admin API, `?type=`), so that whatever else
   * the user stored in the room costs nothing. Not the room's details: Synapse's `encryption` there
   * follows `m.room.encryption` events of any state key, which the user may send (review 27).
   */
  private event(roomId: string, type: string): Promise<StateEvent | null> {
    const { http, session } = this.parts();
    return getStateEvent(http, session, roomId, type);
  }

  async sendEncryption(job: RepairJob, roomId: string): Promise<{ status: number; errcode?: unknown }> {
    const { http, session } = this.parts();
    const lease = new UserTokenLease(http, session, job.userId, this.logger);
    try {
      await http.request({
        call: 'client.rooms.state.encryption',
        method: 'PUT',
        path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption`,
        json: REPAIR_ENCRYPTION_CONTENT,
        auth: lease,
      });
      return { status: 200 };
    } catch (err) {
      if (err instanceof CorporalError && err.code === SynapseErrorCode.Status) return { status: err.status, errcode: err.errcode };
      throw err;
    } finally {
      await lease.release();
    }
  }

  private parts(): Reconciler {
    const reconciler = this.reconciler();
    if (reconciler === null) throw new Error('the reconciler\'s admin session is not open');
    return reconciler;
  }
}

/** The control child's queue of such repairs (no hand-off: it is the last resort). */
export function createAdminRepairQueue(reconciler: () => Reconciler | null, logger: Logger): RoomRepairQueue<RepairJob> {
  return new RoomRepairQueue<RepairJob>({ calls: new AdminRepairCalls(reconciler, logger), logger });
}
