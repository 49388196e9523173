import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { IdentitiesModule } from '../identities/identities.module';
import { GroupMember } from './group-member.entity';
import { Group } from './group.entity';
import { GroupsService } from './groups.service';
import { PasswordPolicy } from './password-policy';
import { PasswordsService } from './passwords.service';
import { User } from './user.entity';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User, Group, GroupMember]), AuditModule, IdentitiesModule],
  providers: [UsersService, GroupsService, PasswordsService, PasswordPolicy],
  exports: [UsersService, GroupsService, PasswordsService, PasswordPolicy],
})
export class UsersModule {}
