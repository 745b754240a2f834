import type { RouteSpec } from './route-spec.js';
import { compileRouteFamilies } from './route-spec.js';

const DOWNLOAD = 'DownloadResource (rest/media/download_resource.py, rest/client/media.py)';

/**
 * Media routes, as segment templates over the path after `/_matrix/media/<version>/` or after a
 * client prefix's `media/` (`/_matrix/client/v1/media/…`, authenticated media). Both trees use
 * this one table: Synapse 1.163.2 serves uploads only on the legacy tree and downloads on both,
 * and a path it answers with 404 may be policed (over-matching). Whatever else lies under a media
 * prefix is `media.other`.
 */
export const MEDIA_ROUTE_SPECS: readonly RouteSpec[] = [
  { template: 'create', methods: { POST: 'media.upload' }, mirrors: 'CreateResource (rest/media/create_resource.py)' },
  { template: 'upload', methods: { POST: 'media.upload' }, mirrors: 'UploadServlet (rest/media/upload_resource.py)' },
  {
    template: 'upload/{serverName}/{mediaId}',
    methods: { PUT: 'media.upload' },
    mirrors: 'AsyncUploadServlet (rest/media/upload_resource.py)',
  },
  // Synapse: one pattern with an optional `(/(?P<file_name>[^/]*))?`.
  { template: 'download/{serverName}/{mediaId}', methods: { GET: 'media.download' }, mirrors: DOWNLOAD },
  { template: 'download/{serverName}/{mediaId}/{fileName}', methods: { GET: 'media.download' }, mirrors: DOWNLOAD },
  {
    template: 'thumbnail/{serverName}/{mediaId}',
    methods: { GET: 'media.thumbnail' },
    mirrors: 'ThumbnailResource (rest/media/thumbnail_resource.py, rest/client/media.py)',
  },
];

/** {@link MEDIA_ROUTE_SPECS} compiled once at module load. */
export const MEDIA_ROUTES = compileRouteFamilies(MEDIA_ROUTE_SPECS);
