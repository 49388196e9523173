/**
 * Every error code users, groups and memberships can answer with (the `error` of the JSON
 * answer). One list, so a reader sees every refusal in one place.
 */
export enum UsersError {
  GroupNameTaken = 'group_name_taken',
  GroupNotFound = 'group_not_found',
  MembershipNotFound = 'membership_not_found',
  UnknownGroups = 'unknown_groups',
  UserEmailTaken = 'user_email_taken',
  UserNotFound = 'user_not_found',
  WeakPassword = 'weak_password',
}
