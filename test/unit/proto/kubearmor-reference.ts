// KubeArmor's published feeder interface (protobuf/kubearmor.proto, protoc-gen-go
// v1.36 generation), transcribed as data: message -> [number, name, type]. The
// wire tests check the generated code against this table with an independent
// encoder, so a wrong number, name or type in proto/feeder fails a test.

export type FieldType = 'int32' | 'int64' | 'string' | 'repeated string' | { readonly message: string };
export type FieldSpec = readonly [number: number, name: string, type: FieldType];

export const KUBEARMOR_FEEDER: Readonly<Record<string, readonly FieldSpec[]>> = {
  NonceMessage: [[1, 'nonce', 'int32']],
  Message: [
    [1, 'Timestamp', 'int64'], [2, 'UpdatedTime', 'string'], [3, 'ClusterName', 'string'],
    [4, 'HostName', 'string'], [5, 'HostIP', 'string'], [6, 'Type', 'string'],
    [7, 'Level', 'string'], [8, 'Message', 'string'],
  ],
  Podowner: [[1, 'Ref', 'string'], [2, 'Name', 'string'], [3, 'Namespace', 'string']],
  ExecEvent: [[1, 'ExecID', 'string'], [2, 'ExecutableName', 'string']],
  Alert: [
    [1, 'Timestamp', 'int64'], [2, 'UpdatedTime', 'string'], [3, 'ClusterName', 'string'],
    [4, 'HostName', 'string'], [5, 'NamespaceName', 'string'], [31, 'Owner', { message: 'Podowner' }],
    [6, 'PodName', 'string'], [29, 'Labels', 'string'], [7, 'ContainerID', 'string'],
    [8, 'ContainerName', 'string'], [24, 'ContainerImage', 'string'], [27, 'HostPPID', 'int32'],
    [9, 'HostPID', 'int32'], [10, 'PPID', 'int32'], [11, 'PID', 'int32'], [12, 'UID', 'int32'],
    [25, 'ParentProcessName', 'string'], [26, 'ProcessName', 'string'], [13, 'PolicyName', 'string'],
    [14, 'Severity', 'string'], [15, 'Tags', 'string'], [30, 'ATags', 'repeated string'],
    [16, 'Message', 'string'], [17, 'Type', 'string'], [18, 'Source', 'string'],
    [19, 'Operation', 'string'], [20, 'Resource', 'string'], [21, 'Data', 'string'],
    [28, 'Enforcer', 'string'], [22, 'Action', 'string'], [23, 'Result', 'string'],
    [32, 'Cwd', 'string'], [33, 'TTY', 'string'], [34, 'MaxAlertsPerSec', 'int32'],
    [35, 'DroppingAlertsInterval', 'int32'], [36, 'ExecEvent', { message: 'ExecEvent' }],
    [37, 'KubeArmorVersion', 'string'],
  ],
  Log: [
    [1, 'Timestamp', 'int64'], [2, 'UpdatedTime', 'string'], [3, 'ClusterName', 'string'],
    [4, 'HostName', 'string'], [5, 'NamespaceName', 'string'], [24, 'Owner', { message: 'Podowner' }],
    [6, 'PodName', 'string'], [23, 'Labels', 'string'], [7, 'ContainerID', 'string'],
    [8, 'ContainerName', 'string'], [19, 'ContainerImage', 'string'], [20, 'ParentProcessName', 'string'],
    [21, 'ProcessName', 'string'], [22, 'HostPPID', 'int32'], [9, 'HostPID', 'int32'],
    [10, 'PPID', 'int32'], [11, 'PID', 'int32'], [12, 'UID', 'int32'], [13, 'Type', 'string'],
    [14, 'Source', 'string'], [15, 'Operation', 'string'], [16, 'Resource', 'string'],
    [17, 'Data', 'string'], [18, 'Result', 'string'], [25, 'Cwd', 'string'], [26, 'TTY', 'string'],
    [27, 'ExecEvent', { message: 'ExecEvent' }],
  ],
  RequestMessage: [[1, 'Filter', 'string']],
  ReplyMessage: [[1, 'Retval', 'int32']],
};

/** KubeArmor's LogService: rpc name -> [request, response, server-streaming]. */
export const KUBEARMOR_LOG_SERVICE: Readonly<Record<string, readonly [string, string, boolean]>> = {
  HealthCheck: ['NonceMessage', 'ReplyMessage', false],
  WatchMessages: ['RequestMessage', 'Message', true],
  WatchAlerts: ['RequestMessage', 'Alert', true],
  WatchLogs: ['RequestMessage', 'Log', true],
};
